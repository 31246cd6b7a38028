import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jobRetryDelaySeconds } from './backoff.ts';

describe('job retry backoff', () => {
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
});
