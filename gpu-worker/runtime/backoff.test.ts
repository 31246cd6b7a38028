import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreUnavailableError } from '../../shared/index.ts';
import { NonRetryableAnalyzeError } from '../analyzer.ts';
import { jobRetryDelaySeconds } from './backoff.ts';
import { classifyFailure, InputMissingError } from './errors.ts';

describe('job retry backoff and failure classes', () => {
  test('backoff doubles per receive with equal jitter and a cap', () => {
    const lo = () => 0;
    const hi = () => 1;
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => jobRetryDelaySeconds(n, 5, 900, hi)),
      [5, 10, 20, 40],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => jobRetryDelaySeconds(n, 5, 900, lo)),
      [3, 5, 10, 20],
    );
    assert.equal(jobRetryDelaySeconds(30, 5, 900, hi), 900);
  });

  test('bad input fails for good; crashes, OOM and unavailable storage retry', () => {
    assert.deepEqual(classifyFailure(new NonRetryableAnalyzeError('context_too_long', 'x')), {
      retryable: false,
      error: { code: 'context_too_long', message: 'x', retryable: false },
    });
    assert.equal(classifyFailure(new InputMissingError('k')).retryable, false);
    assert.deepEqual(classifyFailure(new Error('CUDA out of memory')), { retryable: true, reason: 'oom' });
    assert.deepEqual(classifyFailure(new StoreUnavailableError('down')), {
      retryable: true,
      reason: 'dependency_unavailable',
    });
    assert.deepEqual(classifyFailure(new Error('segfault in kernel')), { retryable: true, reason: 'model_crash' });
  });
});
