import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { apiKeyEntry, parseApiKeys } from './api-keys.ts';
import { awsEnvShape, ConfigError, envVar, parseEnv } from './env.ts';

const schema = z.object({ ...awsEnvShape, PORT: envVar.int('HTTP port', 8787, 1, 65535) });

test('parses a complete environment with defaults and types', () => {
  const cfg = parseEnv(schema, {
    AWS_REGION: 'us-east-1',
    S3_BUCKET: 'b',
    JOB_QUEUE_URL: 'http://127.0.0.1:9324/000/jobs',
    S3_FORCE_PATH_STYLE: 'true',
    PORT: '9000',
  });
  assert.equal(cfg.PORT, 9000);
  assert.equal(cfg.S3_FORCE_PATH_STYLE, true);
  assert.equal(cfg.S3_CONDITIONAL_WRITES, 'native');
});

test('reports every missing or bad variable at once, by name', () => {
  try {
    parseEnv(schema, { AWS_REGION: '', JOB_QUEUE_URL: 'not a url', PORT: 'eighty', S3_FORCE_PATH_STYLE: 'maybe' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /AWS_REGION is required/);
    assert.match(text, /S3_BUCKET is required/);
    assert.match(text, /JOB_QUEUE_URL: must be an absolute URL/);
    assert.match(text, /PORT: must be a whole number/);
    assert.match(text, /S3_FORCE_PATH_STYLE: must be true or false/);
    assert.equal(err.problems.length, 5);
  }
});

test('API_KEYS entries are validated and never hold raw keys', async () => {
  const entry = await apiKeyEntry('key_1', 'acme', 'yvl_secret');
  const [parsed] = parseApiKeys(`${entry}, `);
  assert.equal(parsed?.tenant, 'acme');
  assert.equal(parsed?.sha256.length, 64);
  assert.throws(() => parseApiKeys('key_1:acme'), /expected key_id:tenant:sha256/);
  assert.throws(() => parseApiKeys(`key_1:ACME!:${'a'.repeat(64)}`), /tenant/);
  assert.throws(() => parseApiKeys(''), /no keys/);
});
