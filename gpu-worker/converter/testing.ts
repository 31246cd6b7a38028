// Helpers shared by the converter's tests and bench: run the converted graphs with onnxruntime-node.
import { join } from 'node:path';
import ort from '../onnx/runtime.ts';
import { Rng } from '../yi-vl/checkpoint/rng.ts';
import type { Manifest } from './convert.ts';

/** max|a − b| / max|b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

export function randomPixels(seed: number, size = 448): Float32Array {
  return new Rng(seed).normals(3 * size * size, 1);
}

export async function runVision(dir: string, pixels: Float32Array, batch = 1): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(join(dir, 'vision.onnx'));
  const size = Math.round(Math.sqrt(pixels.length / 3 / batch));
  const r = await s.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, size, size]) });
  await s.release();
  return (r.image_features!.data as Float32Array).slice();
}

export async function runEmbed(dir: string, ids: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(join(dir, 'embed_tokens.onnx'));
  const r = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
  await s.release();
  return (r.inputs_embeds!.data as Float32Array).slice();
}

/** Drives decoder.onnx the way docs/model-format.md describes (batch 1, shared max-length KV buffer). */
export class DecoderRunner {
  private past: Record<string, ort.Tensor> = {};
  length = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: Manifest,
    private readonly maxLength: number,
  ) {
    this.reset();
  }

  static async open(dir: string, manifest: Manifest, maxLength: number): Promise<DecoderRunner> {
    return new DecoderRunner(await ort.InferenceSession.create(join(dir, 'decoder.onnx')), manifest, maxLength);
  }

  reset(): void {
    const { numKvHeads, headDim, numLayers } = this.manifest.dims.llm;
    const n = numKvHeads * this.maxLength * headDim;
    const f16 = this.manifest.graphs.decoder.kvDtype === 'float16';
    for (let i = 0; i < numLayers; i++) {
      for (const kv of ['key', 'value']) {
        this.past[`past_key_values.${i}.${kv}`] = f16
          ? new ort.Tensor('float16', new Uint16Array(n), [1, numKvHeads, this.maxLength, headDim])
          : new ort.Tensor('float32', new Float32Array(n), [1, numKvHeads, this.maxLength, headDim]);
      }
    }
    this.length = 0;
  }

  /** Appends S positions ([S·H] float32 embeddings) and returns the last position's logits. */
  async step(embeds: Float32Array): Promise<Float32Array> {
    const H = this.manifest.dims.llm.hiddenSize;
    const S = embeds.length / H;
    const total = this.length + S;
    const r = await this.session.run({
      inputs_embeds: new ort.Tensor('float32', embeds, [1, S, H]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      ...this.past,
    });
    for (const name of Object.keys(this.past)) this.past[name] = r[name.replace('past_key_values', 'present')]!;
    this.length = total;
    return r.logits!.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** Drives the plain-op decoder variant (growing concatenated KV, no attention mask). */
export class PlainDecoderRunner {
  private past: Record<string, ort.Tensor> = {};
  length = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly manifest: Manifest,
  ) {
    const { numKvHeads, headDim, numLayers } = manifest.dims.llm;
    for (let i = 0; i < numLayers; i++) {
      for (const kv of ['key', 'value'])
        this.past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          numKvHeads,
          0,
          headDim,
        ]);
    }
  }

  static async open(dir: string, manifest: Manifest): Promise<PlainDecoderRunner> {
    return new PlainDecoderRunner(await ort.InferenceSession.create(join(dir, 'decoder.onnx')), manifest);
  }

  async step(embeds: Float32Array): Promise<Float32Array> {
    const H = this.manifest.dims.llm.hiddenSize;
    const S = embeds.length / H;
    const r = await this.session.run({ inputs_embeds: new ort.Tensor('float32', embeds, [1, S, H]), ...this.past });
    for (const name of Object.keys(this.past)) this.past[name] = r[name.replace('past_key_values', 'present')]!;
    this.length += S;
    return r.logits!.data as Float32Array;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
