import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiKeyEntry } from '../shared/config/api-keys.ts';
import { ConfigError } from '../shared/config/env.ts';
import { lingerLimits } from './adapter/node/server.ts';
import { parseEdgeConfig } from './config.ts';

const base = {
  AWS_REGION: 'us-east-1',
  S3_BUCKET: 'b',
  JOB_QUEUE_URL: 'http://127.0.0.1:9324/000/jobs',
  WEBHOOK_QUEUE_URL: 'http://127.0.0.1:9324/000/hooks',
  WEBHOOK_SIGNING_KEY: 'k'.repeat(32),
};

test('edge config: defaults, parsed key list and allow-list', async () => {
  const cfg = parseEdgeConfig({
    ...base,
    API_KEYS: await apiKeyEntry('k1', 'acme', 'yvl_x'),
    ALLOW_PRIVATE_TARGETS: '127.0.0.1, LocalHost',
  });
  assert.equal(cfg.MAX_UPLOAD_BYTES, 20 * 1024 * 1024);
  assert.equal(cfg.MAX_PIXELS, 50_000_000);
  assert.equal(cfg.PORT, 8787);
  assert.deepEqual(
    cfg.API_KEYS.map((k) => [k.id, k.tenant]),
    [['k1', 'acme']],
  );
  assert.deepEqual(cfg.ALLOW_PRIVATE_TARGETS, ['127.0.0.1', 'localhost']);
});

test('edge config: every bad variable is named, raw keys are not echoed', () => {
  try {
    parseEdgeConfig({ ...base, API_KEYS: 'yvl_rawsecret', WEBHOOK_SIGNING_KEY: 'short', MAX_UPLOAD_BYTES: 'lots' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /API_KEYS: API_KEYS entry 1: expected key_id:tenant:sha256/);
    assert.match(text, /WEBHOOK_SIGNING_KEY/);
    assert.match(text, /MAX_UPLOAD_BYTES/);
    assert.doesNotMatch(text, /rawsecret/);
  }
});

test('edge config: WEBHOOK_SIGNING_KEY needs 32 characters, as on the worker', async () => {
  const env = { ...base, API_KEYS: await apiKeyEntry('k1', 'acme', 'yvl_x') };
  assert.throws(
    () => parseEdgeConfig({ ...env, WEBHOOK_SIGNING_KEY: 'k'.repeat(31) }),
    (err: unknown) =>
      err instanceof ConfigError && /WEBHOOK_SIGNING_KEY: must be at least 32 characters/.test(err.message),
  );
  assert.equal(parseEdgeConfig({ ...env, WEBHOOK_SIGNING_KEY: 'k'.repeat(32) }).WEBHOOK_SIGNING_KEY.length, 32);
});

test('edge config: lingering-close bounds, the byte bound following MAX_UPLOAD_BYTES unless set', async () => {
  const env = { ...base, API_KEYS: await apiKeyEntry('k1', 'acme', 'yvl_x') };
  const MIB = 1024 * 1024;
  assert.deepEqual(lingerLimits(parseEdgeConfig(env)), { maxMs: 30_000, idleMs: 5_000, maxBytes: 64 * MIB });
  assert.equal(lingerLimits(parseEdgeConfig({ ...env, MAX_UPLOAD_BYTES: String(50 * MIB) })).maxBytes, 100 * MIB);
  assert.deepEqual(
    lingerLimits(
      parseEdgeConfig({ ...env, LINGER_MAX_SECONDS: '0', LINGER_IDLE_SECONDS: '2', LINGER_MAX_BYTES: '1000' }),
    ),
    { maxMs: 0, idleMs: 2_000, maxBytes: 1000 },
  );
  assert.throws(() => parseEdgeConfig({ ...env, LINGER_MAX_SECONDS: '3600' }), /LINGER_MAX_SECONDS/);
});
