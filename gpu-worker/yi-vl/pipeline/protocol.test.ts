import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeErrorOf, ContextTooLongError, ModelCrashError, ModelOutOfMemoryError } from '../../analyzer-errors.ts';
import { classifyFailure } from '../../runtime/errors.ts';
import { ImageInputError } from '../preprocess/decode.ts';
import { TemplateError } from '../template/mm-default.ts';
import { PromptTooLongError } from './engine.ts';
import { serializeError } from './protocol.ts';

/** What the main thread gets back: the message is structured-cloned (the prototype is lost), then rebuilt. */
const acrossThreads = (err: unknown) => {
  const e = structuredClone(serializeError(err));
  return analyzeErrorOf(e.code, e.message, e.name);
};

describe('pipeline errors across the model-thread boundary', () => {
  test("the pipeline's input errors fail the job at once, with their code, on either side of the boundary", () => {
    const cases: [Error, string][] = [
      [new ImageInputError('expected a 448×448 image, got 100×100'), 'input_invalid'],
      [new TemplateError('a question may not contain the literal <image_placeholder>'), 'input_invalid'],
      [new PromptTooLongError('prompt needs 5000 positions'), 'context_too_long'],
    ];
    for (const [err, code] of cases) {
      const want = { retryable: false, error: { code, message: err.message, retryable: false } };
      assert.deepEqual(classifyFailure(err), want, err.name);
      const rebuilt = acrossThreads(err);
      assert.equal(rebuilt.name, err.name);
      assert.deepEqual(classifyFailure(rebuilt), want, `${err.name} rebuilt`);
    }
    assert.ok(acrossThreads(new PromptTooLongError('x')) instanceof ContextTooLongError);
  });

  test('onnxruntime allocation failures become ModelOutOfMemoryError; other failures ModelCrashError (retried)', () => {
    const oom = acrossThreads(new Error('Failed to allocate memory for requested buffer of size 4194304'));
    assert.ok(oom instanceof ModelOutOfMemoryError);
    assert.deepEqual(classifyFailure(oom), { retryable: true, reason: 'oom' });
    assert.ok(acrossThreads(new Error('CUDA failure 2: out of memory')) instanceof ModelOutOfMemoryError);
    const crash = acrossThreads(new Error('Non-zero status code returned while running MatMul node'));
    assert.ok(crash instanceof ModelCrashError);
    assert.deepEqual(classifyFailure(crash), { retryable: true, reason: 'model_crash' });
    assert.ok(acrossThreads('thrown string') instanceof ModelCrashError);
  });
});
