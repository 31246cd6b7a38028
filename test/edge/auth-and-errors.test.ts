import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type EdgeServer, startEdgeServer } from '../../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../../edge/config.ts';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { deriveWebhookSecret } from '../../shared/webhooks/signing.ts';
import { type EdgeHarness, edgeEnv, KEYS, SIGNING_KEY, startEdgeHarness } from './support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from './support/fixtures.ts';

type Problem = { code: string; status: number; errors?: { path: string }[] };

describe('auth, limits and error rendering', () => {
  let h: EdgeHarness;
  let image: Uint8Array;
  let server: EdgeServer;
  let metricsPort: number;
  before(async () => {
    h = await startEdgeHarness();
    image = await jpeg(32, 32);
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    metricsPort = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    server = await startEdgeServer(
      parseEdgeConfig(
        await edgeEnv(h.aws, {
          PORT: '0',
          METRICS_PORT: String(metricsPort),
          MAX_UPLOAD_BYTES: String(256 * 1024),
          LOG_LEVEL: 'silent',
        }),
      ),
    );
  });
  after(async () => {
    await server.close();
    await h.close();
  });

  test('auth matrix: no key 401, bad key 401, another tenant’s job 404; no key material in bodies or logs', async () => {
    const created = await h.call('/v1/jobs', { method: 'POST', body: multipart(image, { prompt: 'Hi' }) });
    const { id } = (await created.json()) as { id: string };
    const cases: [string, Record<string, string>, number][] = [
      ['no key', {}, 401],
      ['bad key', { authorization: `Bearer ${KEYS.acme}x` }, 401],
      ['wrong scheme', { authorization: `Basic ${btoa(`u:${KEYS.acme}`)}` }, 401],
      ['empty bearer', { authorization: 'Bearer ' }, 401],
      ['other tenant', { authorization: `Bearer ${KEYS.globex}` }, 404],
      ['same tenant, other key', { authorization: `Bearer ${KEYS.acme2}` }, 200],
    ];
    const bodies: string[] = [];
    for (const [name, headers, status] of cases) {
      const res = await h.call(`/v1/jobs/${id}`, { key: null, headers });
      assert.equal(res.status, status, name);
      const text = await res.text();
      bodies.push(text);
      if (status === 401) {
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        assert.equal(JSON.parse(text).code, 'unauthorized');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
      if (status === 404) assert.equal(JSON.parse(text).code, 'not_found');
    }
    for (const path of ['/v1/jobs', '/v1/usage', '/v1/events', '/v1/webhook-secret'])
      assert.equal((await h.call(path, { key: null })).status, 401, path);
    const secrets = [
      ...Object.values(KEYS),
      await sha256Hex(KEYS.acme),
      await deriveWebhookSecret(SIGNING_KEY, 'key_acme'),
      SIGNING_KEY,
    ];
    const errorBodies = bodies.filter((b) => b.includes('"code"'));
    const logText = h.logs.join('\n');
    assert.ok(logText.includes('"status":401'), 'requests are logged');
    for (const s of secrets) {
      for (const b of errorBodies) assert.equal(b.includes(s), false);
      assert.equal(logText.includes(s), false, 'a credential reached the logs');
    }
    assert.equal(/bearer/i.test(logText), false);
  });

  test('client mistakes are 4xx problems with stable codes, never 5xx', async () => {
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      h.call('/v1/jobs', { method: 'POST', body, headers });
    const json = (v: unknown) => post(JSON.stringify(v), { 'content-type': 'application/json' });
    const cases: [string, () => Promise<Response>, number, string][] = [
      ['text/plain body', () => post('hello', { 'content-type': 'text/plain' }), 400, 'malformed_request'],
      ['broken JSON', () => post('{"prompt":', { 'content-type': 'application/json' }), 400, 'malformed_request'],
      ['JSON array', () => json([1, 2]), 400, 'malformed_request'],
      [
        'broken multipart',
        () => post('--x\r\nnonsense', { 'content-type': 'multipart/form-data; boundary=x' }),
        400,
        'malformed_request',
      ],
      ['missing prompt', () => json({ image_url: dataUrl(image) }), 422, 'validation_failed'],
      [
        'prompt with the image placeholder',
        () => json({ prompt: 'what is <image_placeholder>', image_url: dataUrl(image) }),
        422,
        'validation_failed',
      ],
      [
        'unknown field',
        () => json({ prompt: 'a', image_url: dataUrl(image), temprature: 1 }),
        422,
        'validation_failed',
      ],
      ['no image', () => json({ prompt: 'a' }), 422, 'validation_failed'],
      [
        'two images',
        () => post(multipart(image, { prompt: 'a', image_url: dataUrl(image) })),
        422,
        'validation_failed',
      ],
      ['text data URL', () => json({ prompt: 'a', image_url: 'data:text/plain,hello' }), 422, 'validation_failed'],
      ['bad base64', () => json({ prompt: 'a', image_url: 'data:image/png;base64,@@@@' }), 422, 'validation_failed'],
      ['ftp URL', () => json({ prompt: 'a', image_url: 'ftp://example.com/a.jpg' }), 422, 'validation_failed'],
      ['private URL', () => json({ prompt: 'a', image_url: 'http://10.1.2.3/a.jpg' }), 422, 'url_not_allowed'],
      ['metadata URL', () => json({ prompt: 'a', image_url: 'http://169.254.169.254/latest' }), 422, 'url_not_allowed'],
      [
        'HTML upload',
        () => post(multipart(new TextEncoder().encode('<html><body>hi</body></html>'), { prompt: 'a' })),
        415,
        'unsupported_media_type',
      ],
      ['temperature 5', () => post(multipart(image, { prompt: 'a', temperature: '5' })), 422, 'validation_failed'],
      ['temperature text', () => post(multipart(image, { prompt: 'a', temperature: 'hot' })), 422, 'validation_failed'],
      ['metadata not JSON', () => post(multipart(image, { prompt: 'a', metadata: '{' })), 422, 'validation_failed'],
      [
        'metadata > 4 KB',
        () =>
          json({
            prompt: 'a',
            image_url: dataUrl(image),
            metadata: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, 'v'.repeat(1000)])),
          }),
        422,
        'validation_failed',
      ],
      ['prompt twice', () => post(multipart(image, { prompt: ['a', 'b'] })), 422, 'validation_failed'],
      [
        'image as text field',
        () => post(multipart(null, { prompt: 'a', image: 'not a file' })),
        422,
        'validation_failed',
      ],
      [
        'bad webhook event',
        () => post(multipart(image, { prompt: 'a', webhook_events: 'job.exploded' })),
        422,
        'validation_failed',
      ],
      [
        'Idempotency-Key with control chars',
        () => post(multipart(image, { prompt: 'a' }), { 'idempotency-key': 'a\tb' }),
        400,
        'malformed_request',
      ],
      ['parent not a job id', () => json({ prompt: 'a', parent: 'job_1' }), 422, 'validation_failed'],
      ['unknown job', () => h.call('/v1/jobs/job_zzzzzzzzzzzzzzzzzzzzzzzzzz'), 404, 'not_found'],
      ['not a job id', () => h.call('/v1/jobs/..%2F..%2Fetc'), 404, 'not_found'],
      ['unknown route', () => h.call('/v2/things'), 404, 'not_found'],
      ['bad list limit', () => h.call('/v1/jobs?limit=abc'), 422, 'validation_failed'],
      [
        'DELETE a job',
        () => h.call('/v1/jobs/job_zzzzzzzzzzzzzzzzzzzzzzzzzz', { method: 'DELETE' }),
        405,
        'method_not_allowed',
      ],
      ['PUT /healthz', () => h.call('/healthz', { method: 'PUT', key: null }), 405, 'method_not_allowed'],
    ];
    for (const [name, run, status, code] of cases) {
      const res = await run();
      const text = await res.text();
      assert.equal(res.status, status, `${name}: ${text}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', name);
      const p = JSON.parse(text) as Problem;
      assert.equal(p.code, code, name);
      assert.equal(p.status, status, name);
      assert.ok(res.headers.get('request-id'), name);
    }
    const missing = (await (await post(multipart(null, { prompt: 'a' }))).json()) as Problem;
    assert.deepEqual(
      missing.errors?.map((e) => e.path),
      ['image'],
    );
  });

  test('the byte cap holds on a real socket: declared or streamed, the upload is cut off with 413', async () => {
    const auth = { authorization: `Bearer ${KEYS.acme}` };
    // A declared Content-Length over the cap is refused before any body byte is sent.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/jobs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    assert.equal(declared, 413);
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x41);
    const endless = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent > 64 * 1024 * 1024) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    const res = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=zzz' },
      body: endless,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    const p = (await res.json()) as Problem & { max_bytes: number };
    assert.equal(p.code, 'payload_too_large');
    assert.ok(sent < 16 * 1024 * 1024, `the server kept reading: ${sent} bytes`);
    // And a normal upload works through the same server.
    const ok = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: auth,
      body: multipart(image, { prompt: 'a' }),
    });
    assert.equal(ok.status, 202);
    assert.match(ok.headers.get('location') ?? '', /^\/v1\/jobs\/job_/);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      /edge_http_request_duration_seconds_count\{method="POST",route="\/v1\/jobs",status="413"\} 2/,
    );
    assert.match(metrics, /edge_jobs_accepted_total\{source="upload",replayed="false"\} 1/);
  });

  test('per-key rate limit and queue-depth backpressure answer 429 with Retry-After', async () => {
    const limited = await h.variant({ RATE_LIMIT_PER_MINUTE: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await limited('/v1/events')).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const res = await limited('/v1/events');
    assert.equal(((await res.json()) as Problem).code, 'rate_limited');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal((await limited('/v1/events', { key: KEYS.acme2 })).status, 200, 'limits are per key');

    await h.aws.jobQueue.send('{"filler":true}');
    const gated = await h.variant({ MAX_QUEUE_DEPTH: '1' });
    const full = await gated('/v1/jobs', { method: 'POST', body: multipart(image, { prompt: 'a' }) });
    assert.equal(full.status, 429);
    assert.equal(((await full.json()) as Problem).code, 'queue_full');
    assert.ok(Number(full.headers.get('retry-after')) >= 1);
  });

  test('storage down → 503 dependency_unavailable with Retry-After and no internals', async () => {
    await h.aws.s3.stop();
    try {
      const res = await h.call('/v1/jobs/job_zzzzzzzzzzzzzzzzzzzzzzzzzz');
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
      const text = await res.text();
      assert.equal(JSON.parse(text).code, 'dependency_unavailable');
      assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|stack|S3ServiceException/);
    } finally {
      await h.aws.s3.start();
    }
  });
});
