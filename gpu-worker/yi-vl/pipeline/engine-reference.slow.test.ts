import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openCheckpoint } from '../checkpoint/checkpoint.ts';
import { argmax } from '../generation/sampler.ts';
import { normalizeRgbToNchw } from '../preprocess/clip-normalize.ts';
import { ReferenceDecoder } from '../reference/decoder.ts';
import { referenceImageFeatures } from '../reference/vision.ts';
import { renderPrompt } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from '../template/prompt-ids.ts';
import { YiVlEngine } from './engine.ts';
import { freshTinyModel, patchLmHeadRow, reconvert, testImageRgb, tinyModel } from './testing/tiny-model.ts';

let engine: YiVlEngine;
let checkpointDir: string;
const rgb = testImageRgb(1);
const question = 'What is in the image?';

before(async () => {
  const m = await tinyModel();
  checkpointDir = m.checkpointDir;
  engine = await YiVlEngine.load(m.modelDir, { device: 'cpu', intraOpNumThreads: 1 });
});
after(() => engine?.close());

let referenceImage: Float64Array | undefined;

/** Greedy argmax chain of the independent float64 reference forward pass (gpu-worker/yi-vl/reference). */
function referenceChain(promptIds: number[], n: number, eos: number[]): { chain: number[]; prefill: Float64Array } {
  const ckpt = openCheckpoint(checkpointDir);
  try {
    const dec = new ReferenceDecoder(ckpt);
    const at = promptIds.indexOf(IMAGE_TOKEN_INDEX);
    referenceImage ??= referenceImageFeatures(ckpt, normalizeRgbToNchw(rgb));
    const img = referenceImage;
    const before = dec.embed(promptIds.slice(0, at));
    const afterIds = dec.embed(promptIds.slice(at + 1));
    const x = new Float64Array(before.length + img.length + afterIds.length);
    x.set(before, 0);
    x.set(img, before.length);
    x.set(afterIds, before.length + img.length);
    const cache = dec.newCache();
    const prefill = dec.forward(x, cache);
    let logits = prefill;
    const chain: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = argmax(logits);
      chain.push(id);
      if (eos.includes(id)) break;
      logits = dec.forward(dec.embed([id]), cache);
    }
    return { chain, prefill };
  } finally {
    ckpt.close();
  }
}

describe('YiVlEngine against the float64 reference and patched/fp16 checkpoints (CPU EP)', () => {
  test('greedy tokens equal the argmax chain of the reference forward pass', async () => {
    const n = 10;
    const r = await engine.analyze({
      rgb,
      question,
      params: { temperature: 0, maxNewTokens: n },
      returnPrefillLogits: true,
    });
    assert.deepEqual(r.prompt_token_ids, tokenizeWithImage(engine.tokenizer, renderPrompt({ question })));
    const ref = referenceChain(r.prompt_token_ids, n, engine.startup.eosIds);
    assert.deepEqual(r.output_token_ids, ref.chain);
    assert.equal(r.image_cache_hit, false);
    let maxDiff = 0;
    r.prefill_logits!.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - ref.prefill[i]!));
    });
    assert.ok(maxDiff < 1e-3, `prefill logits differ from the reference by ${maxDiff}`);
    assert.equal(r.prompt_tokens, r.prompt_token_ids.length - 1);
    assert.equal(r.image_tokens, 1024);
    assert.equal(r.completion_tokens, r.output_token_ids.length);
    assert.equal(
      r.text,
      engine.tokenizer
        .decode(r.output_token_ids.filter((id) => id !== 7))
        .trim()
        .split('###')[0]!
        .trim(),
    );
  });

  test('multi-round: history rendered with the image in the first turn', async () => {
    const history = [{ question: 'What is in the image?', answer: 'A cat.' }];
    const r = await engine.analyze({
      rgb,
      question: 'What colour is it?',
      history,
      params: { temperature: 0, maxNewTokens: 4 },
    });
    const want = tokenizeWithImage(engine.tokenizer, renderPrompt({ question: 'What colour is it?', history }));
    assert.deepEqual(r.prompt_token_ids, want);
    assert.equal(r.prompt_token_ids.filter((id) => id === IMAGE_TOKEN_INDEX).length, 1);
    assert.equal(r.image_cache_hit, true, 'a follow-up on the same image reuses its features');
    assert.equal(r.timings.vision_ms, 0);
    const ref = referenceChain(r.prompt_token_ids, 4, engine.startup.eosIds);
    assert.deepEqual(r.output_token_ids, ref.chain);
  });

  test('"###" produced by the model ends with "stop" and is cut from the text', async () => {
    const m = await freshTinyModel(5);
    const greedy = async () => {
      const e = await YiVlEngine.load(m.modelDir, { device: 'cpu', intraOpNumThreads: 1 });
      try {
        return await e.analyze({ rgb, question, params: { temperature: 0, maxNewTokens: 4 } });
      } finally {
        await e.close();
      }
    };
    const before = await greedy();
    const HASHES = 8308; // "###"
    assert.equal(engine.tokenizer.idToPiece(HASHES), '###');
    patchLmHeadRow(m.checkpointDir, before.output_token_ids[2]!, HASHES);
    await reconvert(m);
    const r = await greedy();
    assert.equal(r.finish_reason, 'stop');
    assert.equal(r.output_token_ids.at(-1), HASHES);
    assert.ok(r.output_token_ids.length <= 3);
    assert.equal(r.text, engine.tokenizer.decode(r.output_token_ids.slice(0, -1)).trim());
    assert.ok(!r.text.includes('#'));
  });

  test('fp16 model (float16 KV buffers) gives the fp32 greedy tokens on this checkpoint', async () => {
    const m32 = await freshTinyModel(9);
    const m16 = await freshTinyModel(9, 'fp16');
    const run = async (dir: string) => {
      const e = await YiVlEngine.load(dir, { device: 'cpu', intraOpNumThreads: 1 });
      try {
        assert.equal(e.startup.computeDtype, dir === m16.modelDir ? 'float16' : 'float32');
        return (await e.analyze({ rgb, question, params: { temperature: 0, maxNewTokens: 6 } })).output_token_ids;
      } finally {
        await e.close();
      }
    };
    assert.deepEqual(await run(m16.modelDir), await run(m32.modelDir));
  });
});
