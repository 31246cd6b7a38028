import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiKeyEntry } from '../shared/config/api-keys.ts';
import type { JobQueue } from '../shared/ports/job-queue.ts';
import type { ObjectStore } from '../shared/ports/object-store.ts';
import { createApp } from './app.ts';
import { parseEdgeConfig } from './config.ts';
import type { ImageProcessor } from './image/image-processor.ts';
import { silentLogger } from './logger.ts';

// Unit level: ports that fail with an unexpected (non-dependency) error, to check the error boundary alone.
const leaky = new Error('SELECT * FROM secrets at /srv/internal/db.ts:42');
const store = { get: () => Promise.reject(leaky), list: () => Promise.reject(leaky) } as unknown as ObjectStore;
const queue = {} as JobQueue;
const images = {} as ImageProcessor;

test('an unexpected error is a bare 500 problem: no message, stack or path reaches the client', async () => {
  const config = parseEdgeConfig({
    AWS_REGION: 'us-east-1',
    S3_BUCKET: 'b',
    JOB_QUEUE_URL: 'http://127.0.0.1:1/q',
    WEBHOOK_QUEUE_URL: 'http://127.0.0.1:1/w',
    WEBHOOK_SIGNING_KEY: 'k'.repeat(32),
    API_KEYS: await apiKeyEntry('k1', 'acme', 'yvl_unit'),
  });
  const app = createApp({ store, jobQueue: queue, webhookQueue: queue, images, config, logger: silentLogger });
  const res = await app.request('/v1/jobs/job_zzzzzzzzzzzzzzzzzzzzzzzzzz', {
    headers: { authorization: 'Bearer yvl_unit' },
  });
  assert.equal(res.status, 500);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const text = await res.text();
  assert.equal(JSON.parse(text).code, 'internal_error');
  assert.doesNotMatch(text, /SELECT|secrets|\/srv|db\.ts/);
  assert.ok(res.headers.get('request-id'));
});
