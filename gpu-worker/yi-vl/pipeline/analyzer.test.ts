import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { ContextTooLongError, InputInvalidError, ModelCrashError } from '../../analyzer-errors.ts';
import { classifyFailure } from '../../runtime/errors.ts';
import { ImageInputError } from '../preprocess/decode.ts';
import { YiVlAnalyzer, type YiVlResult } from './analyzer.ts';
import { YiVlEngine } from './engine.ts';
import { testImageRgb, tinyModel } from './testing/tiny-model.ts';

let analyzer: YiVlAnalyzer;
let modelDir: string;
let png: Uint8Array;
const rgb = testImageRgb(2);

before(async () => {
  modelDir = (await tinyModel()).modelDir;
  png = await sharp(rgb, { raw: { width: 448, height: 448, channels: 3 } })
    .png()
    .toBuffer();
  analyzer = await YiVlAnalyzer.start(modelDir, { device: 'cpu', intraOpNumThreads: 1 });
});
after(() => analyzer?.close());

describe('YiVlAnalyzer (model in a worker thread)', () => {
  test('sessions live in another thread; start-up reports the provider', () => {
    assert.notEqual(analyzer.threadId, 0);
    assert.equal(analyzer.startup.provider, 'cpu');
  });

  test('same greedy tokens as the in-process engine; streamed text equals the final text', async () => {
    const engine = await YiVlEngine.load(modelDir, { device: 'cpu', intraOpNumThreads: 1 });
    const params = { temperature: 0, max_new_tokens: 12 };
    const want = await engine.analyze({ rgb, question: 'Describe it.', params: { temperature: 0, maxNewTokens: 12 } });
    await engine.close();
    const deltas: string[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const got = await analyzer.analyze({ image: png, prompt: 'Describe it.', params, onText: (d) => deltas.push(d) });
    clearInterval(timer);
    assert.deepEqual(got.output_token_ids, want.output_token_ids);
    assert.equal(got.text, want.text);
    assert.equal(deltas.join(''), got.text);
    assert.ok(ticks > 0, 'the main event loop kept running during generation');
  });

  test('concurrent requests are decoded as one batch, each with the answer it gets alone', async () => {
    const prompts = ['Describe it.', 'What colour is it?', 'Is there any text in the picture?'];
    const params = { temperature: 0, max_new_tokens: 8 };
    const alone: YiVlResult[] = [];
    for (const prompt of prompts) alone.push(await analyzer.analyze({ image: png, prompt, params }));
    const together = await Promise.all(prompts.map((prompt) => analyzer.analyze({ image: png, prompt, params })));
    together.forEach((r, i) => {
      assert.deepEqual(r.output_token_ids, alone[i]!.output_token_ids);
    });
    // requests that arrive while another batch runs wait for it and then decode together
    assert.ok(
      together.some((r) => r.batch_size >= 2),
      `batch sizes ${together.map((r) => r.batch_size)}`,
    );
    assert.deepEqual(
      alone.map((r) => r.batch_size),
      [1, 1, 1],
    );
  });

  test('AbortSignal cancels between decode steps', async () => {
    const ac = new AbortController();
    const r = await analyzer.analyze(
      { image: png, prompt: 'Describe it.', params: { temperature: 0, max_new_tokens: 200 }, onText: () => ac.abort() },
      ac.signal,
    );
    assert.equal(r.finish_reason, 'canceled');
    assert.ok(r.completion_tokens < 200);
  });

  test('an already aborted signal returns "canceled" without generating', async () => {
    const r = await analyzer.analyze({ image: png, prompt: 'x', params: { temperature: 0 } }, AbortSignal.abort());
    assert.equal(r.finish_reason, 'canceled');
    assert.equal(r.completion_tokens, 0);
  });

  test("bad inputs are rejected with the worker's typed errors, also from inside the model thread", async () => {
    const fails = async (
      req: Parameters<YiVlAnalyzer['analyze']>[0],
      type: abstract new (...args: never[]) => Error,
      name: string,
      code: string,
    ) => {
      const err = await analyzer.analyze(req).then(
        () => assert.fail(`${name} expected`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof type, `${String(err)} is a ${type.name}`);
      assert.equal((err as Error).name, name);
      // The worker fails such a job at once, with this code, instead of retrying it as a model crash.
      assert.deepEqual(classifyFailure(err), {
        retryable: false,
        error: { code, message: (err as Error).message, retryable: false },
      });
    };
    // Decoded on the main side: the pipeline's own class.
    await fails({ image: new Uint8Array([1, 2, 3]), prompt: 'x' }, ImageInputError, 'ImageInputError', 'input_invalid');
    const small = await sharp(rgb.subarray(0, 100 * 100 * 3), { raw: { width: 100, height: 100, channels: 3 } })
      .png()
      .toBuffer();
    await fails({ image: small, prompt: 'x' }, InputInvalidError, 'ImageInputError', 'input_invalid');
    // Thrown in the model thread: rebuilt from the code it carries, under its original name.
    await fails({ image: png, prompt: 'see <image_placeholder>' }, InputInvalidError, 'TemplateError', 'input_invalid');
    const history = [{ question: 'q', answer: 'word '.repeat(1200) }];
    await fails({ image: png, prompt: 'x', history }, ContextTooLongError, 'PromptTooLongError', 'context_too_long');
  });

  test('after close() requests are refused', async () => {
    const a = await YiVlAnalyzer.start(modelDir, { device: 'cpu', intraOpNumThreads: 1 });
    await a.close();
    await assert.rejects(a.analyze({ image: png, prompt: 'x' }), (err) => err instanceof ModelCrashError);
  });

  test('a folder that is not a converted model fails at start', async () => {
    await assert.rejects(YiVlAnalyzer.start('/nonexistent-model-dir', { device: 'cpu' }), /no manifest\.json/);
  });
});
