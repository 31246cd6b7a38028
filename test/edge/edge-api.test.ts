import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  EventListSchema,
  HealthSchema,
  JobListSchema,
  JobViewSchema,
  ProblemSchema,
  UsageReportSchema,
  WebhookSecretSchema,
} from '../../edge/openapi/api-schemas.ts';
import { getJson, putJson } from '../../shared/ports/object-store.ts';
import { JobRecordSchema } from '../../shared/schemas/job.ts';
import { WebhookDeliveryMessageSchema } from '../../shared/schemas/queue-message.ts';
import { UsageRecordSchema } from '../../shared/schemas/usage.ts';
import { keys } from '../../shared/storage/keys.ts';
import { deriveWebhookSecret, signedHeaders, verify } from '../../shared/webhooks/signing.ts';
import { type EdgeHarness, KEYS, SIGNING_KEY, startEdgeHarness } from './support/edge-harness.ts';
import { advance, dataUrl, jpeg, multipart } from './support/fixtures.ts';

type JobBody = { id: string; status: string; [k: string]: unknown };

describe('edge API over real S3/SQS', () => {
  let h: EdgeHarness;
  let image: Uint8Array;
  let imageServer: Server;
  let imageServerUrl: string;

  const create = async (fields: Record<string, string | string[]> = {}, init: RequestInit & { key?: string } = {}) => {
    const res = await h.call('/v1/jobs', {
      method: 'POST',
      body: multipart(image, { prompt: 'Describe.', ...fields }),
      ...init,
    });
    return { res, body: (await res.json()) as JobBody };
  };

  before(async () => {
    h = await startEdgeHarness();
    image = await jpeg(80, 60);
    imageServer = createServer((req, res) => {
      if (req.url === '/cat.jpg') {
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end(image);
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: '/cat.jpg' });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => imageServer.listen(0, '127.0.0.1', r));
    imageServerUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    imageServer.close();
    await h.close();
  });

  test('POST /v1/jobs (multipart) stores the input, the queued record and one queue message', async () => {
    const { res, body } = await create({ temperature: '0', max_new_tokens: '64', metadata: '{"order":"42"}' });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('location'), `/v1/jobs/${body.id}`);
    assert.ok(res.headers.get('request-id'));
    const view = JobViewSchema.parse(body);
    assert.equal(view.status, 'queued');
    assert.equal(view.params.temperature, 0);
    assert.equal(view.params.max_new_tokens, 64);
    assert.equal(view.params.top_p, 0.8);
    assert.deepEqual(view.metadata, { order: '42' });
    assert.deepEqual([view.input!.width, view.input!.height, view.input!.format], [80, 60, 'jpeg']);
    assert.equal('tenant' in body || 'api_key_id' in body, false);
    const png = await h.aws.store.get(keys.modelInput('acme', body.id));
    assert.ok(png);
    assert.deepEqual([...png.body.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const stored = await getJson(h.aws.store, keys.job('acme', body.id), (v) => JobRecordSchema.parse(v));
    assert.equal(stored?.value.api_key_id, 'key_acme');
    const msgs = await h.aws.jobQueue.receive({ waitSeconds: 1, maxMessages: 10 });
    assert.deepEqual(
      msgs.map((m) => JSON.parse(m.body)),
      [{ v: 1, job_id: body.id, tenant: 'acme' }],
    );
    for (const m of msgs) await h.aws.jobQueue.delete(m.receiptHandle);
  });

  test('POST /v1/jobs (JSON) accepts a data: URL and an image_url fetched from a (loopback-allowed) server', async () => {
    const a = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'What colour?', image_url: dataUrl(image) }),
    });
    assert.equal(a.status, 202);
    assert.equal(((await a.json()) as { input: { source: string } }).input.source, 'data_url');
    const b = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'What colour?', image_url: `${imageServerUrl}/redirect` }),
    });
    assert.equal(b.status, 202, await b.clone().text());
    const bb = (await b.json()) as { input: { source: string; width: number } };
    assert.deepEqual([bb.input.source, bb.input.width], ['url', 80]);
    const missing = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', image_url: `${imageServerUrl}/nope.jpg` }),
    });
    assert.equal(missing.status, 422);
    assert.equal(((await missing.json()) as { code: string }).code, 'image_fetch_failed');
  });

  test('GET /v1/jobs/{id} with Prefer: wait returns as soon as the job ends', async () => {
    const { body } = await create();
    const started = Date.now();
    setTimeout(() => {
      void advance(h.aws.store, 'acme', body.id, 'running').then(() =>
        advance(h.aws.store, 'acme', body.id, 'succeeded'),
      );
    }, 300);
    const res = await h.call(`/v1/jobs/${body.id}`, { headers: { prefer: 'wait=10' } });
    const elapsed = Date.now() - started;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('preference-applied'), 'wait=10');
    assert.equal(((await res.json()) as JobBody).status, 'succeeded');
    // Well before the 10 s wait runs out (slack for the loopback S3 server, whose reads can stall during overwrites).
    assert.ok(elapsed >= 250 && elapsed < 8000, `returned after ${elapsed} ms`);
    // A still-queued job is returned when the wait runs out; N above 60 is capped.
    const { body: other } = await create();
    const t0 = Date.now();
    const res2 = await h.call(`/v1/jobs/${other.id}`, { headers: { prefer: 'respond-async, wait=1' } });
    assert.equal(((await res2.json()) as JobBody).status, 'queued');
    assert.ok(Date.now() - t0 >= 900);
    assert.equal(res2.headers.get('retry-after'), '2');
    const capped = await h.call(`/v1/jobs/${body.id}`, { headers: { prefer: 'wait=600' } });
    assert.equal(capped.headers.get('preference-applied'), 'wait=60');
    const plain = await h.call(`/v1/jobs/${body.id}`);
    assert.equal(plain.headers.get('preference-applied'), null);
    const etag = plain.headers.get('etag');
    assert.ok(etag);
    const unchanged = await h.call(`/v1/jobs/${body.id}`, { headers: { 'if-none-match': etag } });
    assert.equal(unchanged.status, 304);
    assert.equal(await unchanged.text(), '');
  });

  test('follow-up with parent reuses the stored input and carries the conversation', async () => {
    const { body: root } = await create({ prompt: 'What is it?' });
    const early = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'And?', parent: root.id }),
    });
    assert.equal(early.status, 409);
    assert.equal(((await early.json()) as { code: string }).code, 'parent_not_usable');
    await advance(h.aws.store, 'acme', root.id, 'running');
    await advance(h.aws.store, 'acme', root.id, 'succeeded', 'A square.');
    const follow = async (parent: string, prompt: string, key: string = KEYS.acme) =>
      h.call('/v1/jobs', {
        method: 'POST',
        key,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, parent }),
      });
    const r1 = await follow(root.id, 'What colour is it?');
    assert.equal(r1.status, 202);
    const j1 = (await r1.json()) as JobBody & {
      conversation: { root_id: string; parent_id: string; history: unknown[] };
    };
    assert.deepEqual(j1.conversation, {
      root_id: root.id,
      parent_id: root.id,
      history: [{ question: 'What is it?', answer: 'A square.' }],
    });
    const rec = await getJson(h.aws.store, keys.job('acme', j1.id), (v) => JobRecordSchema.parse(v));
    assert.equal(rec?.value.input?.key, keys.modelInput('acme', root.id));
    assert.equal(rec?.value.input.source, 'parent');
    await advance(h.aws.store, 'acme', j1.id, 'running');
    await advance(h.aws.store, 'acme', j1.id, 'succeeded', 'Red.');
    const r2 = await follow(j1.id, 'Why?');
    const j2 = (await r2.json()) as typeof j1;
    assert.equal(j2.conversation.root_id, root.id);
    assert.equal(j2.conversation.history.length, 2);
    // Another tenant cannot follow up this tenant's job: it looks like no job at all.
    const foreign = await follow(root.id, 'Hi', KEYS.globex);
    assert.equal(foreign.status, 422);
    assert.equal(((await foreign.json()) as { errors: { path: string }[] }).errors[0]?.path, 'parent');
  });

  test('cancel: queued → canceled with event and webhook message; running → requested; ended → 409', async () => {
    const refused = await create({ webhook: 'http://10.0.0.7/hook' });
    assert.equal(refused.res.status, 422);
    assert.equal(refused.body.code, 'url_not_allowed');
    const hook = 'http://127.0.0.1:9/yi';
    const { body } = await create({ webhook: hook, webhook_events: 'job.canceled' });
    const c1 = await h.call(`/v1/jobs/${body.id}/cancel`, { method: 'POST' });
    assert.equal(c1.status, 200);
    assert.equal(((await c1.json()) as JobBody).status, 'canceled');
    const hooks = await h.aws.webhookQueue.receive({ waitSeconds: 1, maxMessages: 10 });
    assert.equal(hooks.length, 1);
    const delivery = WebhookDeliveryMessageSchema.parse(JSON.parse(hooks[0]!.body));
    assert.deepEqual([delivery.event, delivery.job_id, delivery.url], ['job.canceled', body.id, hook]);
    assert.equal(JSON.parse(delivery.payload).data.status, 'canceled');
    await h.aws.webhookQueue.delete(hooks[0]!.receiptHandle);
    const again = await h.call(`/v1/jobs/${body.id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 200, 'canceling a canceled job is a no-op');
    const feed = (await (await h.call('/v1/events?limit=100')).json()) as { data: { job_id: string; type: string }[] };
    assert.deepEqual(
      feed.data.filter((e) => e.job_id === body.id).map((e) => e.type),
      ['job.queued', 'job.canceled'],
    );

    const { body: running } = await create();
    await advance(h.aws.store, 'acme', running.id, 'running');
    const c2 = await h.call(`/v1/jobs/${running.id}/cancel`, { method: 'POST' });
    assert.equal(c2.status, 202);
    const c2body = (await c2.json()) as JobBody & { cancel_requested_at?: string };
    assert.equal(c2body.status, 'running');
    assert.ok(c2body.cancel_requested_at);
    assert.ok(await h.aws.store.head(keys.cancel('acme', running.id)));

    await advance(h.aws.store, 'acme', running.id, 'succeeded');
    const c3 = await h.call(`/v1/jobs/${running.id}/cancel`, { method: 'POST' });
    assert.equal(c3.status, 409);
    assert.equal(((await c3.json()) as { code: string }).code, 'job_not_cancelable');
    const c4 = await h.call('/v1/jobs/job_00000000000000000000000000/cancel', { method: 'POST' });
    assert.equal(c4.status, 404);
  });

  test('GET /v1/jobs pages oldest-first with a cursor and filters by status, per tenant', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) mine.push((await create({}, { key: KEYS.globex })).body.id);
    await advance(h.aws.store, 'globex', mine[1]!, 'running');
    await advance(h.aws.store, 'globex', mine[3]!, 'running');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await h.call(`/v1/jobs?limit=2${cursor ? `&after=${cursor}` : ''}`, { key: KEYS.globex });
      assert.equal(res.status, 200);
      const page = JobListSchema.parse(await res.json());
      seen.push(...page.data.map((j) => j.id));
      cursor = page.has_more ? page.next_cursor : null;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, mine);
    assert.equal(pages, 3);
    const running = await h.call('/v1/jobs?status=running&limit=10', { key: KEYS.globex });
    const runningIds = ((await running.json()) as { data: JobBody[] }).data.map((j) => j.id);
    assert.deepEqual(runningIds, [mine[1], mine[3]]);
    const recent = await h.call(`/v1/jobs?created_after=${new Date(Date.now() + 60_000).toISOString()}`, {
      key: KEYS.globex,
    });
    assert.deepEqual(((await recent.json()) as { data: unknown[] }).data, []);
    const bad = await h.call('/v1/jobs?status=done&limit=1000', { key: KEYS.globex });
    assert.equal(bad.status, 422);
    const errs = ((await bad.json()) as { errors: { path: string }[] }).errors.map((e) => e.path);
    assert.ok(errs.includes('query.limit') && errs.some((p) => p.startsWith('query.status')));
  });

  test('GET /v1/events is the tenant’s ordered feed with a resumable cursor', async () => {
    const before = await h.call('/v1/events?limit=100', { key: KEYS.acme2 });
    const all = ((await before.json()) as { data: { id: string }[] }).data;
    assert.ok(all.length > 0, 'acme’s second key sees the tenant’s events');
    const ids = all.map((e) => e.id);
    assert.deepEqual([...ids].sort(), ids);
    const firstTwo = await h.call('/v1/events?limit=2');
    const p1 = EventListSchema.parse(await firstTwo.json());
    assert.equal(p1.has_more, true);
    const rest = await h.call(`/v1/events?after=${p1.next_cursor}&limit=100`);
    const p2 = (await rest.json()) as { data: { id: string }[]; next_cursor: string };
    assert.deepEqual(
      [...p1.data, ...p2.data].map((e) => e.id),
      ids,
    );
    const tail = await h.call(`/v1/events?after=${p2.next_cursor}`);
    const p3 = (await tail.json()) as { data: unknown[]; next_cursor: string; has_more: boolean };
    assert.deepEqual([p3.data, p3.next_cursor, p3.has_more], [[], p2.next_cursor, false]);
    const foreign = await h.call('/v1/events?limit=100', { key: KEYS.globex });
    const globexJobs = ((await foreign.json()) as { data: { job_id: string }[] }).data.map((e) => e.job_id);
    const acmeJobs = new Set(all.map((e) => (e as unknown as { job_id: string }).job_id));
    assert.ok(globexJobs.every((id) => !acmeJobs.has(id)));
    assert.equal((await h.call('/v1/events?after=nope')).status, 422);
  });

  test('GET /v1/usage sums usage records per API key over UTC days', async () => {
    const rec = (job: string, key: string, day: string, gpu: number) =>
      UsageRecordSchema.parse({
        job_id: job,
        tenant: 'acme',
        api_key_id: key,
        status: 'succeeded',
        completed_at: `${day}T12:00:00.000Z`,
        prompt_tokens: 10,
        image_tokens: 1024,
        completion_tokens: 5,
        images: 1,
        gpu_ms: gpu,
        queue_ms: 3,
      });
    const ids = Array.from({ length: 4 }, (_, i) => `job_0000000000000000000000000${i}`);
    const rows = [
      rec(ids[0]!, 'key_acme', '2026-03-01', 100),
      rec(ids[1]!, 'key_acme', '2026-03-02', 250.5),
      rec(ids[2]!, 'key_acme2', '2026-03-02', 40),
      rec(ids[3]!, 'key_acme', '2026-03-04', 1000),
    ];
    for (const r of rows) await putJson(h.aws.store, keys.usage('acme', r.completed_at.slice(0, 10), r.job_id), r);
    const res = await h.call('/v1/usage?from=2026-03-01&to=2026-03-03');
    assert.equal(res.status, 200);
    const body = UsageReportSchema.parse(await res.json());
    const byKey = Object.fromEntries(body.data.map((d) => [d.api_key_id, d]));
    assert.deepEqual([byKey.key_acme?.jobs, byKey.key_acme?.gpu_ms, byKey.key_acme?.image_tokens], [2, 350.5, 2048]);
    assert.deepEqual([byKey.key_acme2?.jobs, byKey.key_acme2?.gpu_ms], [1, 40]);
    const other = await h.call('/v1/usage?from=2026-03-01&to=2026-03-31', { key: KEYS.globex });
    const globex = (await other.json()) as { data: { api_key_id: string; jobs: number }[] };
    assert.deepEqual(globex.data, [{ ...globex.data[0], api_key_id: 'key_globex', jobs: 0 }]);
    assert.equal((await h.call('/v1/usage?from=2026-03-05&to=2026-03-01')).status, 422);
    assert.equal((await h.call('/v1/usage?from=2026-01-01&to=2026-12-31')).status, 422);
    assert.equal((await h.call('/v1/usage?from=yesterday')).status, 422);
  });

  test('GET /v1/webhook-secret returns the key’s derived secret, which verifies its webhooks', async () => {
    const res = await h.call('/v1/webhook-secret');
    const { secret, api_key_id } = WebhookSecretSchema.parse(await res.json());
    assert.equal(api_key_id, 'key_acme');
    assert.equal(secret, await deriveWebhookSecret(SIGNING_KEY, 'key_acme'));
    const body = '{"type":"job.succeeded"}';
    const headers = await signedHeaders(await deriveWebhookSecret(SIGNING_KEY, 'key_acme'), 'msg_1', body);
    await verify(secret, body, headers);
    const other = (await (await h.call('/v1/webhook-secret', { key: KEYS.globex })).json()) as { secret: string };
    assert.notEqual(other.secret, secret);
  });

  test('GET /openapi.json is OpenAPI 3.1 with every route and resolvable schema refs; /docs is self-contained', async () => {
    const res = await h.call('/openapi.json', { key: null });
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.equal(doc.openapi, '3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const r of [
      'POST /v1/jobs',
      'GET /v1/jobs',
      'GET /v1/jobs/{id}',
      'POST /v1/jobs/{id}/cancel',
      'GET /v1/usage',
      'GET /v1/events',
      'GET /v1/webhook-secret',
      'GET /healthz',
      'GET /openapi.json',
      'GET /docs',
    ])
      assert.ok(routes.includes(r), `missing ${r}`);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 10);
    for (const r of refs) {
      const m = /^#\/components\/schemas\/([^/#]+)$/.exec(r);
      assert.ok(m, `unexpected ref form ${r}`);
      assert.ok(doc.components.schemas[m[1]!], `unresolved ${r}`);
    }
    for (const id of ['Job', 'JobCreateRequest', 'Problem', 'UsageReport', 'EventList', 'GenerationParams'])
      assert.ok(doc.components.schemas[id], `schema ${id}`);
    assert.equal('JobRecord' in doc.components.schemas, false);
    const docs = await h.call('/docs', { key: null });
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    const html = await docs.text();
    assert.match(html, /POST<\/span> <code>\/v1\/jobs<\/code>/);
    assert.doesNotMatch(html, /<script|https?:\/\/cdn/i);
  });

  test('GET /healthz: 200 with both up, 503 problem when S3 or SQS is down', async () => {
    const ok = await h.call('/healthz', { key: null });
    assert.equal(ok.status, 200);
    assert.deepEqual(HealthSchema.parse(await ok.json()).checks, { s3: 'ok', sqs: 'ok' });
    await h.aws.s3.stop();
    try {
      const down = await h.call('/healthz', { key: null });
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('content-type'), 'application/problem+json');
      const p = ProblemSchema.loose().parse(await down.json());
      assert.deepEqual([p.code, p.checks], ['dependency_unavailable', { s3: 'down', sqs: 'ok' }]);
      assert.ok(down.headers.get('retry-after'));
    } finally {
      await h.aws.s3.start();
    }
    await h.aws.sqs.stop();
    try {
      const down = await h.call('/healthz', { key: null });
      assert.equal(down.status, 503);
      assert.deepEqual(((await down.json()) as { checks: unknown }).checks, { s3: 'ok', sqs: 'down' });
    } finally {
      await h.aws.sqs.start();
    }
    assert.equal((await h.call('/healthz', { key: null })).status, 200);
  });
});
