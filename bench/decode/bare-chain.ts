// The baseline for decode overhead: nothing but a chain of decoder.onnx session.run() calls at a given context
// length (fixed input embedding, no sampling, no tokenizer), in two KV bindings:
//  - 'inplace': past_key_values.* and present.* bound to the same JS buffers (what the pipeline does);
//  - 'copy': present.* returned as fresh tensors and fed back as the next past (the straightforward loop).
import ort from '../../gpu-worker/onnx/runtime.ts';
import type { ModelManifest } from '../../gpu-worker/yi-vl/pipeline/manifest.ts';

export async function bareChainTokensPerSecond(
  session: ort.InferenceSession,
  m: ModelManifest,
  o: { startLength: number; steps: number; binding: 'inplace' | 'copy' },
): Promise<number> {
  const { numLayers, numKvHeads, headDim, hiddenSize: H, vocabSize: V } = m.dims.llm;
  const maxLength = o.startLength + o.steps + 1;
  const fp16 = m.computeDtype === 'float16';
  const shape = [1, numKvHeads, maxLength, headDim];
  const n = numKvHeads * maxLength * headDim;
  let past: Record<string, ort.Tensor> = {};
  const fetches: Record<string, ort.Tensor> = {
    logits: new ort.Tensor('float32', new Float32Array(V), [1, 1, V]),
  };
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ['key', 'value']) {
      const t = fp16
        ? new ort.Tensor('float16', new Uint16Array(n), shape)
        : new ort.Tensor('float32', new Float32Array(n), shape);
      past[`past_key_values.${l}.${kind}`] = t;
      fetches[`present.${l}.${kind}`] = t;
    }
  }
  const embeds = new ort.Tensor('float32', new Float32Array(H).fill(0.01), [1, 1, H]);
  const ones = new BigInt64Array(maxLength).fill(1n);
  let length = o.startLength;
  const t0 = performance.now();
  for (let s = 0; s < o.steps; s++) {
    const total = length + 1;
    const feeds = {
      inputs_embeds: embeds,
      attention_mask: new ort.Tensor('int64', ones.subarray(0, total), [1, total]),
      ...past,
    };
    if (o.binding === 'inplace') {
      await session.run(feeds, fetches);
    } else {
      const out = await session.run(feeds);
      const next: Record<string, ort.Tensor> = {};
      for (let l = 0; l < numLayers; l++) {
        for (const kind of ['key', 'value']) next[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
      }
      past = next;
    }
    length = total;
  }
  return (o.steps * 1000) / (performance.now() - t0);
}

/** The same chain on the plain-op variant: its KV grows by concatenation, so every step returns a new buffer. */
export async function plainChainTokensPerSecond(
  session: ort.InferenceSession,
  m: ModelManifest,
  o: { startLength: number; steps: number },
): Promise<number> {
  const { numLayers, numKvHeads, headDim, hiddenSize: H } = m.dims.llm;
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${l}.${kind}`] = new ort.Tensor(
        'float32',
        new Float32Array(numKvHeads * o.startLength * headDim),
        [1, numKvHeads, o.startLength, headDim],
      );
    }
  }
  const embeds = new ort.Tensor('float32', new Float32Array(H).fill(0.01), [1, 1, H]);
  const t0 = performance.now();
  for (let s = 0; s < o.steps; s++) {
    const out = await session.run({ inputs_embeds: embeds, ...past });
    const next: Record<string, ort.Tensor> = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value']) next[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
    }
    past = next;
  }
  return (o.steps * 1000) / (performance.now() - t0);
}

/** One prefill of `positions` random-ish embeddings; returns milliseconds. */
export async function prefillMs(
  session: ort.InferenceSession,
  m: ModelManifest,
  positions: number,
  layout: 'gqa' | 'plain',
): Promise<number> {
  const { numLayers, numKvHeads, headDim, hiddenSize: H } = m.dims.llm;
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', new Float32Array(positions * H).fill(0.01), [1, positions, H]),
  };
  const len = layout === 'gqa' ? positions : 0;
  if (layout === 'gqa')
    feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(positions).fill(1n), [1, positions]);
  for (let l = 0; l < numLayers; l++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', new Float32Array(numKvHeads * len * headDim), [
        1,
        numKvHeads,
        len,
        headDim,
      ]);
    }
  }
  const t = performance.now();
  await session.run(feeds);
  return performance.now() - t;
}
