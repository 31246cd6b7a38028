import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attemptOutcome, parseRetryAfter, retryDelaySeconds } from './retry-policy.ts';

const settings = { maxAttempts: 12, baseSeconds: 5, maxDelaySeconds: 21_600 };

describe('webhook retry policy', () => {
  test('2xx delivers; 410 and other 4xx/3xx stop; 5xx, 429, 408 and network errors retry until the last attempt', () => {
    assert.equal(attemptOutcome({ status: 200 }, 1, 3), 'delivered');
    assert.equal(attemptOutcome({ status: 204 }, 3, 3), 'delivered');
    assert.equal(attemptOutcome({ status: 410 }, 1, 3), 'stopped');
    assert.equal(attemptOutcome({ status: 400 }, 1, 3), 'stopped');
    assert.equal(attemptOutcome({ status: 301 }, 1, 3), 'stopped');
    for (const status of [500, 502, 503, 429, 408]) assert.equal(attemptOutcome({ status }, 2, 3), 'retrying');
    assert.equal(attemptOutcome({ networkError: true }, 1, 3), 'retrying');
    assert.equal(attemptOutcome({ status: 503 }, 3, 3), 'gave_up');
    assert.equal(attemptOutcome({ networkError: true }, 3, 3), 'gave_up');
    assert.equal(attemptOutcome({ refused: true }, 1, 3), 'refused');
  });

  test('delays grow ×4 from the base, stay within ±20 % jitter, and are capped', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryDelaySeconds(a, settings, undefined, mid)),
      [5, 20, 80, 320, 1280],
    );
    assert.equal(retryDelaySeconds(20, settings, undefined, mid), 21_600);
    assert.equal(
      retryDelaySeconds(3, settings, undefined, () => 0),
      64,
    );
    assert.equal(
      retryDelaySeconds(3, settings, undefined, () => 0.999_999),
      96,
    );
    const total = Array.from({ length: settings.maxAttempts - 1 }, (_, i) =>
      retryDelaySeconds(i + 1, settings, undefined, mid),
    );
    assert.ok(total.reduce((a, b) => a + b, 0) > 24 * 3600, 'the schedule spans more than a day');
  });

  test('Retry-After replaces the computed delay, capped; seconds and HTTP dates both parse', () => {
    assert.equal(retryDelaySeconds(1, settings, 120), 120);
    assert.equal(retryDelaySeconds(1, settings, 10 ** 9), 21_600);
    assert.equal(retryDelaySeconds(1, settings, 0), 1);
    const now = new Date('2026-11-27T10:00:00Z');
    assert.equal(parseRetryAfter('30', now), 30);
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 10:02:00 GMT', now), 120);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
