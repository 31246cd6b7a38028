import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucketLimiter } from './rate-limit.ts';

test('token bucket: a burst of the per-minute limit, then refills continuously, per key', () => {
  const limiter = new TokenBucketLimiter(60);
  const t0 = 1_000_000;
  for (let i = 0; i < 60; i++) assert.equal(limiter.take('a', t0).ok, true);
  const refused = limiter.take('a', t0);
  assert.equal(refused.ok, false);
  assert.equal(refused.retryAfterSeconds, 1);
  assert.equal(limiter.take('b', t0).ok, true, 'keys have separate buckets');
  assert.equal(limiter.take('a', t0 + 500).ok, false);
  assert.equal(limiter.take('a', t0 + 1_000).ok, true, 'one token per second at 60/min');
  assert.equal(new TokenBucketLimiter(0).take('a', t0).ok, true, '0 disables');
  const slow = new TokenBucketLimiter(2);
  slow.take('a', t0);
  slow.take('a', t0);
  assert.equal(slow.take('a', t0).retryAfterSeconds, 30);
});
