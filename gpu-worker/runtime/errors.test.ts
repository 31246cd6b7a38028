import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JobUpdateConflictError, QueueUnavailableError, StoreUnavailableError } from '../../shared/index.ts';
import {
  analyzeErrorOf,
  ContextTooLongError,
  InputInvalidError,
  ModelCrashError,
  ModelOutOfMemoryError,
} from '../analyzer-errors.ts';
import { classifyFailure, InputMissingError } from './errors.ts';

const failsWith = (code: string, message: string) => ({
  retryable: false,
  error: { code, message, retryable: false },
});

describe('failure classes: by type, never by message', () => {
  test('InputInvalidError fails the job at once with input_invalid', () => {
    assert.deepEqual(classifyFailure(new InputInvalidError('not 448×448')), failsWith('input_invalid', 'not 448×448'));
  });

  test('ContextTooLongError fails the job at once with context_too_long', () => {
    assert.deepEqual(classifyFailure(new ContextTooLongError('x')), failsWith('context_too_long', 'x'));
  });

  test('a missing input fails the job at once with input_missing', () => {
    assert.deepEqual(
      classifyFailure(new InputMissingError('inputs/t/j/model-input.png')),
      failsWith('input_missing', 'job input inputs/t/j/model-input.png does not exist'),
    );
  });

  test('ModelCrashError is retried as model_crash', () => {
    assert.deepEqual(classifyFailure(new ModelCrashError('thread exited')), { retryable: true, reason: 'model_crash' });
  });

  test('ModelOutOfMemoryError is retried as oom', () => {
    assert.deepEqual(classifyFailure(new ModelOutOfMemoryError('arena full')), { retryable: true, reason: 'oom' });
  });

  test('unavailable storage or queue, and a write that kept losing races, are retried', () => {
    for (const err of [new StoreUnavailableError('down'), new QueueUnavailableError('down')])
      assert.deepEqual(classifyFailure(err), { retryable: true, reason: 'dependency_unavailable' });
    assert.deepEqual(classifyFailure(new JobUpdateConflictError('job_x')), {
      retryable: true,
      reason: 'update_conflict',
    });
  });

  test('an untyped error is a model crash, whatever its message says', () => {
    for (const message of ['segfault in kernel', 'cannot decode image', 'CUDA out of memory', 'PromptTooLongError'])
      assert.deepEqual(classifyFailure(new Error(message)), { retryable: true, reason: 'model_crash' });
    const named = new Error('prompt needs 5000 positions');
    named.name = 'PromptTooLongError';
    assert.deepEqual(classifyFailure(named), { retryable: true, reason: 'model_crash' });
    assert.deepEqual(classifyFailure('a string'), { retryable: true, reason: 'model_crash' });
  });

  test('a code that crossed a thread boundary is rebuilt into its class; an unknown one is a crash', () => {
    const rebuilt = analyzeErrorOf('context_too_long', 'too long', 'PromptTooLongError');
    assert.ok(rebuilt instanceof ContextTooLongError);
    assert.equal(rebuilt.name, 'PromptTooLongError');
    assert.deepEqual(classifyFailure(rebuilt), failsWith('context_too_long', 'too long'));
    assert.ok(analyzeErrorOf('input_invalid', 'm') instanceof InputInvalidError);
    assert.ok(analyzeErrorOf('oom', 'm') instanceof ModelOutOfMemoryError);
    assert.ok(analyzeErrorOf(undefined, 'm') instanceof ModelCrashError);
    assert.ok(analyzeErrorOf('no_such_code', 'm') instanceof ModelCrashError);
  });
});
