import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../shared/index.ts';
import { loadWorkerConfig } from './config.ts';

const minimal = {
  AWS_REGION: 'us-east-1',
  S3_BUCKET: 'b',
  JOB_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/jobs',
  WEBHOOK_QUEUE_URL: 'http://127.0.0.1:9324/000000000000/webhooks',
  WEBHOOK_SIGNING_KEY: 'k'.repeat(32),
};

describe('worker configuration', () => {
  test('defaults: one job at a time, 20 s long polls, 60 s lease, 5 receives', () => {
    const c = loadWorkerConfig(minimal);
    assert.equal(c.WORKER_CONCURRENCY, 1);
    assert.equal(c.RECEIVE_WAIT_SECONDS, 20);
    assert.equal(c.JOB_VISIBILITY_TIMEOUT_SECONDS, 60);
    assert.equal(c.MAX_RECEIVE_COUNT, 5);
    assert.deepEqual(c.ALLOW_PRIVATE_TARGETS, []);
    assert.equal(
      loadWorkerConfig({ ...minimal, ALLOW_PRIVATE_TARGETS: '127.0.0.1, LocalHost' }).ALLOW_PRIVATE_TARGETS[1],
      'localhost',
    );
  });

  test('every missing or bad variable is named in one error', () => {
    try {
      loadWorkerConfig({ AWS_REGION: 'x', WORKER_CONCURRENCY: 'many', WEBHOOK_SIGNING_KEY: 'short' });
      assert.fail('expected ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of [
        'S3_BUCKET',
        'JOB_QUEUE_URL',
        'WEBHOOK_QUEUE_URL',
        'WORKER_CONCURRENCY',
        'WEBHOOK_SIGNING_KEY',
      ])
        assert.match(text, new RegExp(name));
      assert.doesNotMatch(err.message, /short/, 'the bad secret value is not echoed');
    }
  });
});

test('WEBHOOK_SIGNING_KEY needs 32 characters, as on the edge', () => {
  assert.throws(() => loadWorkerConfig({ ...minimal, WEBHOOK_SIGNING_KEY: 'k'.repeat(31) }), /WEBHOOK_SIGNING_KEY/);
  assert.equal(loadWorkerConfig({ ...minimal, WEBHOOK_SIGNING_KEY: 'k'.repeat(32) }).WEBHOOK_SIGNING_KEY.length, 32);
});
