import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildDecoderLoop } from '../../converter/convert.ts';
import { Rng } from '../checkpoint/rng.ts';
import { argmax } from '../generation/sampler.ts';
import { DecoderDriver } from './decoder-driver.ts';
import { KvCache } from './kv-cache.ts';
import { LoopDecoder } from './loop-decoder.ts';
import { readManifest } from './manifest.ts';
import { freshTinyModel } from './testing/tiny-model.ts';

describe('in-graph decode loop (decoder_loop.onnx)', () => {
  let dir: string;
  let loop: LoopDecoder;
  let step: ort.InferenceSession;
  before(async () => {
    const m = await freshTinyModel(12);
    dir = m.modelDir;
    buildDecoderLoop({ checkpoint: m.checkpointDir, out: dir, dtype: 'fp32' });
    loop = await LoopDecoder.open(join(dir, 'decoder_loop.onnx'));
    step = await ort.InferenceSession.create(join(dir, 'decoder.onnx'));
  });
  after(async () => {
    await loop?.release();
    await step?.release();
  });

  test('K greedy tokens per run() equal the JS step loop, and an EOS id stops it early', async () => {
    const m = readManifest(dir);
    const { hiddenSize: H, vocabSize: V, numLayers, numKvHeads, headDim } = m.dims.llm;
    const layout = { numLayers, numKvHeads, headDim, fp16: false };
    const driver = new DecoderDriver(step, H, V);
    const prompt = new Rng(5).normals(20 * H, 1);
    const embedOf = async (id: number) => {
      const e = await ort.InferenceSession.create(join(dir, 'embed_tokens.onnx'));
      const r = await e.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(id)]), [1, 1]) });
      await e.release();
      return r.inputs_embeds!.data as Float32Array;
    };
    // JS loop: prefill, then 10 greedy steps
    const a = new KvCache(layout, 1, 64);
    let id = argmax(await driver.run(a, prompt, 20, [0]));
    const first = id;
    const want: number[] = [];
    for (let s = 0; s < 10; s++) {
      id = argmax(await driver.run(a, await embedOf(id), 1, [20 + s]));
      want.push(id);
    }
    assert.ok(new Set(want).size >= 3, `a varied continuation makes the check meaningful: ${want}`);
    // in-graph loop: same prefill, then 4 + 6 tokens in two runs
    const b = new KvCache(layout, 1, 64);
    assert.equal(argmax(await driver.run(b, prompt, 20, [0])), first);
    const got = await loop.run(b, first, 20, 4, [-1]);
    got.push(...(await loop.run(b, got.at(-1)!, 24, 6, [-1])));
    assert.deepEqual(got, want);
    // an EOS id ends the run at that token
    const c = new KvCache(layout, 1, 64);
    await driver.run(c, prompt, 20, [0]);
    assert.deepEqual(await loop.run(c, first, 20, 10, [want[2]!]), want.slice(0, want.indexOf(want[2]!) + 1));
  });
});
