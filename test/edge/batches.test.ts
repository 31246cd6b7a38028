import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createApp } from '../../edge/app.ts';
import { parseEdgeConfig } from '../../edge/config.ts';
import { BatchListSchema, BatchViewSchema, ProblemSchema, UsageReportSchema } from '../../edge/openapi/api-schemas.ts';
import { SqsJobQueue } from '../../shared/aws/sqs-job-queue.ts';
import { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { applyItemChanges, type ItemChange } from '../../shared/batches/item-states.ts';
import { isJobId, itemJobIds } from '../../shared/ids.ts';
import { JobRepository } from '../../shared/jobs/job-repository.ts';
import { QueueUnavailableError } from '../../shared/ports/job-queue.ts';
import { getJson, putJson } from '../../shared/ports/object-store.ts';
import { BatchIndexSchema, BatchRecordSchema } from '../../shared/schemas/batch.ts';
import { JobEventSchema } from '../../shared/schemas/events.ts';
import { GenerationParamsSchema } from '../../shared/schemas/generation-params.ts';
import type { JobRecord } from '../../shared/schemas/job.ts';
import { IdempotencyRecordSchema, UsageRecordSchema } from '../../shared/schemas/usage.ts';
import { keys } from '../../shared/storage/keys.ts';
import { type EdgeHarness, edgeEnv, KEYS, startEdgeHarness } from './support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from './support/fixtures.ts';

type Caller = (path: string, init?: RequestInit & { key?: string | null }) => Promise<Response>;
type Problem = { code: string; errors?: { path: string; message: string }[]; [k: string]: unknown };

const line = (custom_id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id, image_url: 'https://images.example.com/cat.jpg', prompt: 'Describe.', ...extra });

/** A multipart body with the requests as a file part (a string) plus form fields. */
function batchForm(requests: string | null, fields: Record<string, string | string[]> = {}): FormData {
  const form = multipart(null, fields);
  if (requests !== null) form.set('requests', new Blob([requests], { type: 'application/x-ndjson' }), 'requests.jsonl');
  return form;
}

describe('batches API over real S3/SQS', () => {
  let h: EdgeHarness;
  let batchQueue: SqsJobQueue;
  let call: Caller;
  let small: Caller;
  const batches = () => new BatchRepository(h.aws.store);

  const caller =
    (app: ReturnType<typeof createApp>): Caller =>
    (path, init = {}) => {
      const { key = KEYS.acme, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null) headers.set('authorization', `Bearer ${key}`);
      return Promise.resolve(app.request(path, { ...rest, headers }));
    };

  const post = async (
    requests: string | null,
    fields: Record<string, string | string[]> = {},
    init: RequestInit = {},
    via?: Caller,
  ) => {
    const res = await (via ?? call)('/v1/batches', { method: 'POST', body: batchForm(requests, fields), ...init });
    return { res, body: (await res.json()) as Record<string, unknown> & { id: string; status: string } };
  };

  const create = async (n: number, fields: Record<string, string | string[]> = {}) => {
    const lines = Array.from({ length: n }, (_, i) => line(String.fromCharCode(97 + i)));
    const { res, body } = await post(lines.join('\n'), fields);
    assert.equal(res.status, 202, JSON.stringify(body));
    return body.id;
  };

  const drainBatchQueue = async () => {
    const out: string[] = [];
    for (;;) {
      const msgs = await batchQueue.receive({ waitSeconds: 1, maxMessages: 10 });
      if (msgs.length === 0) return out;
      for (const m of msgs) {
        out.push(m.body);
        await batchQueue.delete(m.receiptHandle);
      }
    }
  };

  const allKeys = async () => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await h.aws.store.list('', token ? { continuationToken: token } : {});
      out.push(...page.items.map((i) => i.key));
      token = page.continuationToken;
    } while (token);
    return out.sort();
  };

  /** Asserts a 422 (or 413) problem and that the bucket holds exactly what it held before the request. */
  const refused = async (status: number, code: string, send: () => Promise<Response>): Promise<Problem> => {
    const before = await allKeys();
    const res = await send();
    const body = (await res.json()) as Problem;
    assert.equal(res.status, status, JSON.stringify(body).slice(0, 500));
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.equal(body.code, code);
    assert.deepEqual(await allKeys(), before, 'nothing is stored for a refused batch');
    return body;
  };

  const changeItems = async (batchId: string, changes: ItemChange[]) => {
    const res = await batches().update(
      'acme',
      batchId,
      (b) => applyItemChanges(b, changes, new Date().toISOString()).changed,
    );
    assert.ok(res);
    return res.batch;
  };

  /** Writes the job record a worker would have made for item `index`, ended as `status`. */
  const endedJob = async (batchId: string, index: number, status: 'succeeded' | 'failed') => {
    const idx = (await getJson(h.aws.store, keys.batchIndex('acme', batchId), (v) => BatchIndexSchema.parse(v)))!.value;
    const [customId, jobId] = idx[index]!;
    const now = new Date().toISOString();
    const job: JobRecord = {
      object: 'job',
      id: jobId,
      tenant: 'acme',
      api_key_id: 'key_acme',
      status,
      created_at: now,
      updated_at: now,
      completed_at: now,
      expires_at: now,
      prompt: 'Describe.',
      params: GenerationParamsSchema.parse({}),
      batch_id: batchId,
      custom_id: customId,
      batch_index: index,
      conversation: { root_id: jobId, history: [] },
      webhook_attempts: [],
      attempts: 1,
      ...(status === 'succeeded'
        ? { output: { text: `answer ${customId}`, finish_reason: 'stop', prompt_tokens: 10, completion_tokens: 4 } }
        : { error: { code: 'model_error', message: 'boom' } }),
    };
    await new JobRepository(h.aws.store).create(job);
    return jobId;
  };

  before(async () => {
    h = await startEdgeHarness();
    const created = await h.aws.sqsClient.send(new CreateQueueCommand({ QueueName: 'yi-vl-batches' }));
    batchQueue = new SqsJobQueue(h.aws.sqsClient, created.QueueUrl!);
    call = caller(createApp({ ...h.deps, batchQueue }));
    const smallConfig = parseEdgeConfig(
      await edgeEnv(h.aws, {
        BATCH_MAX_ITEMS: '3',
        BATCH_MAX_BYTES: '4096',
        BATCH_MAX_LINE_BYTES: '1900',
        MAX_UPLOAD_BYTES: '1024',
      }),
    );
    small = caller(createApp({ ...h.deps, batchQueue, config: smallConfig }));
  });
  after(async () => {
    await h.close();
  });

  test('POST /v1/batches stores the items, the index and the queued record, sends one intake message and writes batch.queued', async () => {
    await drainBatchQueue();
    const image = await jpeg(40, 30);
    const requests = [
      line('first', { temperature: 0, max_new_tokens: 32, metadata: { row: '1' } }),
      JSON.stringify({ custom_id: 'second', image_url: dataUrl(image), prompt: 'What colour?' }),
      line('third', { response_format: { type: 'json_object' } }),
    ].join('\r\n');
    const { res, body } = await post(`${requests}\n`, {
      webhook: 'http://127.0.0.1:9/hook',
      metadata: '{"run":"nightly"}',
    });
    assert.equal(res.status, 202, JSON.stringify(body));
    const view = BatchViewSchema.parse(body);
    assert.equal(res.headers.get('location'), `/v1/batches/${view.id}`);
    assert.equal(view.status, 'queued');
    assert.deepEqual(view.counts, { total: 3, queued: 3, running: 0, succeeded: 0, failed: 0, canceled: 0 });
    assert.deepEqual(view.metadata, { run: 'nightly' });
    assert.deepEqual(view.webhook, { url: 'http://127.0.0.1:9/hook', events: ['batch.completed', 'batch.canceled'] });
    assert.deepEqual(view.urls, {
      self: `/v1/batches/${view.id}`,
      results: `/v1/batches/${view.id}/results`,
      cancel: `/v1/batches/${view.id}/cancel`,
    });
    assert.equal('tenant' in body || 'item_states' in body || 'api_key_id' in body, false);

    const record = (await getJson(h.aws.store, keys.batch('acme', view.id), (v) => BatchRecordSchema.parse(v)))!.value;
    assert.equal(record.item_states, 'qqq');
    assert.deepEqual(record.intake, { next: 0, done: false });
    assert.equal(record.api_key_id, 'key_acme');
    assert.deepEqual(record.limits, {
      max_bytes: h.config.MAX_UPLOAD_BYTES,
      max_pixels: h.config.MAX_PIXELS,
      max_side: h.config.MAX_SIDE,
    });
    assert.equal(
      Date.parse(record.expires_at) - Date.parse(record.created_at),
      h.config.BATCH_COMPLETION_WINDOW_SECONDS * 1000,
    );

    const items = new TextDecoder()
      .decode((await h.aws.store.get(keys.batchItems('acme', view.id)))!.body)
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const index = (await getJson(h.aws.store, keys.batchIndex('acme', view.id), (v) => BatchIndexSchema.parse(v)))!
      .value;
    assert.deepEqual(
      index.map(([c]) => c),
      ['first', 'second', 'third'],
    );
    assert.deepEqual(
      items.map((i) => [i.custom_id, i.job_id]),
      index,
    );
    assert.equal(new Set(index.map(([, j]) => j)).size, 3);
    assert.equal(items[0]!.temperature, 0);
    assert.deepEqual(items[0]!.metadata, { row: '1' });
    assert.equal(items[1]!.image_url, dataUrl(image));
    assert.deepEqual(items[2]!.response_format, { type: 'json_object' });

    assert.deepEqual(
      (await drainBatchQueue()).map((m) => JSON.parse(m)),
      [{ v: 1, kind: 'batch_intake', batch_id: view.id, tenant: 'acme' }],
    );
    const events = (await (await call('/v1/events?limit=100')).json()) as { data: unknown[] };
    const queued = events.data.map((e) => JobEventSchema.parse(e)).filter((e) => e.batch_id === view.id);
    assert.deepEqual(
      queued.map((e) => [e.type, e.status, e.job_id]),
      [['batch.queued', 'queued', undefined]],
    );
  });

  test('422 names every bad line by its 1-based physical number; blank lines are skipped but counted', async () => {
    const requests = [
      line('a'), // 1
      '', // 2
      '{"custom_id": "x", "image_url":', // 3
      line('b'), // 4
      line('a'), // 5
      line('c', { colour: 'red' }), // 6
      line('d', { temperature: 9 }), // 7
      line('e', { image_url: 'ftp://example.com/x.jpg' }), // 8
      '[1, 2]', // 9
      line('f', { image_url: 'data:image/png;base64,@@@@' }), // 10
      line('g', { image_url: 'data:image/png,plain' }), // 11
      '   ', // 12
      line('h'), // 13
    ].join('\n');
    const p = await refused(422, 'validation_failed', () =>
      call('/v1/batches', { method: 'POST', body: batchForm(requests) }),
    );
    const byPath = Object.fromEntries(p.errors!.map((e) => [e.path, e.message]));
    assert.deepEqual(Object.keys(byPath), [
      'requests[3]',
      'requests[5].custom_id',
      'requests[6].colour',
      'requests[7].temperature',
      'requests[8].image_url',
      'requests[9]',
      'requests[10].image_url',
      'requests[11].image_url',
    ]);
    assert.match(byPath['requests[3]']!, /not valid JSON/);
    assert.match(byPath['requests[5].custom_id']!, /duplicate custom_id: first used on line 1/);
    assert.equal(byPath['requests[6].colour'], 'unknown field');
    assert.match(byPath['requests[9]']!, /JSON object/);
    assert.match(byPath['requests[10].image_url']!, /not valid base64/);
    assert.match(byPath['requests[11].image_url']!, /base64-encoded/);
    assert.equal('total_errors' in p, false);
  });

  test('422 lists at most 100 problems and says how many there were', async () => {
    const requests = Array.from({ length: 150 }, (_, i) => `{"custom_id": "n${i}"`).join('\n');
    const p = await refused(422, 'validation_failed', () =>
      call('/v1/batches', { method: 'POST', body: batchForm(requests) }),
    );
    assert.equal(p.errors!.length, 100);
    assert.equal(p.total_errors, 150);
    assert.equal(p.errors![99]!.path, 'requests[100]');
    ProblemSchema.loose().parse(p);
  });

  test('422 for an empty file, a blank-only file, a missing requests part, an unknown form field and bad form fields', async () => {
    for (const requests of ['', '\n \n\n']) {
      const p = await refused(422, 'validation_failed', () =>
        call('/v1/batches', { method: 'POST', body: batchForm(requests) }),
      );
      assert.equal(p.errors![0]!.path, 'requests');
    }
    const missing = await refused(422, 'validation_failed', () =>
      call('/v1/batches', { method: 'POST', body: batchForm(null, { prompt: 'x' }) }),
    );
    assert.deepEqual(
      missing.errors!.map((e) => e.path),
      ['prompt', 'requests'],
    );
    const fields = await refused(422, 'validation_failed', () =>
      call('/v1/batches', {
        method: 'POST',
        body: batchForm(line('a'), { webhook: 'not a url', webhook_events: 'job.succeeded', metadata: '[1]' }),
      }),
    );
    assert.deepEqual(
      fields.errors!.map((e) => e.path),
      ['webhook', 'webhook_events', 'metadata'],
    );
    // A text field works as well as a file part.
    const form = new FormData();
    form.set('requests', line('a'));
    const text = await call('/v1/batches', { method: 'POST', body: form });
    assert.equal(text.status, 202);
    await drainBatchQueue();
  });

  test('413 for each limit, with the limit in the problem body; a data: URL over MAX_UPLOAD_BYTES is a 422', async () => {
    const filler = 'x'.repeat(1200);
    const bytes = await refused(413, 'payload_too_large', () =>
      small('/v1/batches', {
        method: 'POST',
        body: batchForm([1, 2, 3, 4].map((i) => line(`i${i}`, { prompt: filler })).join('\n')),
      }),
    );
    assert.equal(bytes.max_bytes, 4096);
    const huge = await refused(413, 'payload_too_large', () =>
      small('/v1/batches', { method: 'POST', body: batchForm(line('a', { prompt: 'y'.repeat(400 * 1024) })) }),
    );
    assert.equal(huge.max_bytes, 4096);
    const longLine = await refused(413, 'payload_too_large', () =>
      small('/v1/batches', {
        method: 'POST',
        body: batchForm(`${line('a')}\n${line('b', { prompt: 'z'.repeat(1900) })}`),
      }),
    );
    assert.deepEqual([longLine.max_line_bytes, longLine.line], [1900, 2]);
    const items = await refused(413, 'payload_too_large', () =>
      small('/v1/batches', {
        method: 'POST',
        body: batchForm([line('a'), line('b'), '', line('c'), line('d')].join('\n')),
      }),
    );
    assert.equal(items.max_items, 3);
    const image = new Uint8Array(1100);
    const big = await refused(422, 'validation_failed', () =>
      small('/v1/batches', { method: 'POST', body: batchForm(line('a', { image_url: dataUrl(image, 'image/png') })) }),
    );
    assert.deepEqual(big.errors, [{ path: 'requests[1].image_url', message: 'the image exceeds 1024 bytes' }]);
    const fits = await small('/v1/batches', {
      method: 'POST',
      body: batchForm(line('a', { image_url: dataUrl(new Uint8Array(1024), 'image/png') })),
    });
    assert.equal(fits.status, 202);
    await drainBatchQueue();
  });

  test('503 batches_unavailable without a batch queue', async () => {
    const { batchQueue: _none, ...withoutBatchQueue } = h.deps;
    const noBatches = caller(createApp(withoutBatchQueue));
    const p = await refused(503, 'batches_unavailable', () =>
      noBatches('/v1/batches', { method: 'POST', body: batchForm(line('a')) }),
    );
    assert.equal(p.status, 503);
  });

  test('Idempotency-Key replays the same batch once, refuses another body, and never meets a job key', async () => {
    await drainBatchQueue();
    const headers = { 'idempotency-key': 'nightly-2026-03-01' };
    const first = await post(`${line('a')}\n${line('b')}`, {}, { headers });
    assert.equal(first.res.status, 202);
    const again = await post(`${line('a')}\n${line('b')}`, {}, { headers });
    assert.equal(again.res.status, 202);
    assert.equal(again.res.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    assert.equal((await drainBatchQueue()).length, 1);
    const record = await getJson(h.aws.store, keys.batch('acme', first.body.id), (v) => BatchRecordSchema.parse(v));
    assert.equal(record?.value.idempotency_key, 'nightly-2026-03-01');

    const other = await refused(422, 'idempotency_key_reused', () =>
      call('/v1/batches', { method: 'POST', body: batchForm(line('a')), headers }),
    );
    assert.equal(other.status, 422);

    const job = await call('/v1/jobs', { method: 'POST', body: multipart(await jpeg(), { prompt: 'x' }), headers });
    assert.equal(job.status, 202);
    assert.equal(job.headers.get('idempotent-replayed'), null);
    const msgs = await h.aws.jobQueue.receive({ waitSeconds: 1, maxMessages: 10 });
    for (const m of msgs) await h.aws.jobQueue.delete(m.receiptHandle);
    const idem = await h.aws.store.list('idempotency/acme/');
    const ids = await Promise.all(
      idem.items.map(
        async (i) => (await getJson(h.aws.store, i.key, (v) => IdempotencyRecordSchema.parse(v)))!.value.job_id,
      ),
    );
    assert.ok(ids.includes(first.body.id));
  });

  test('a failed intake send undoes the create: 503, nothing left stored, the Idempotency-Key free for a retry', async () => {
    const failing = Object.assign(Object.create(batchQueue) as SqsJobQueue, {
      send: async () => {
        throw new QueueUnavailableError('the batch queue is down');
      },
    });
    const broken = caller(createApp({ ...h.deps, batchQueue: failing }));
    const headers = { 'idempotency-key': 'retry-me' };
    const p = await refused(503, 'dependency_unavailable', () =>
      broken('/v1/batches', { method: 'POST', body: batchForm(line('a')), headers }),
    );
    assert.equal(p.status, 503);
    const retry = await post(line('a'), {}, { headers });
    assert.equal(retry.res.status, 202);
    assert.equal(retry.res.headers.get('idempotent-replayed'), null);
    assert.equal((await drainBatchQueue()).length, 1);
  });

  test('cancel of a queued batch cancels every item at once (200); repeating it answers the same', async () => {
    const id = await create(3);
    const res = await call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 200);
    const view = BatchViewSchema.parse(await res.json());
    assert.equal(view.status, 'canceled');
    assert.deepEqual([view.counts.canceled, view.counts.queued], [3, 0]);
    assert.ok(view.cancel_requested_at && view.completed_at);
    const again = await call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 200);
    assert.equal(BatchViewSchema.parse(await again.json()).status, 'canceled');
  });

  test('cancel with a running item: canceling (202), the running item finishes, then the batch is canceled', async () => {
    const id = await create(3);
    await changeItems(id, [{ kind: 'start', index: 1 }]);
    const res = await call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 202);
    const view = BatchViewSchema.parse(await res.json());
    assert.equal(view.status, 'canceling');
    assert.deepEqual([view.counts.running, view.counts.canceled], [1, 2]);
    assert.equal((await batches().get('acme', id))!.batch.item_states, 'crc');
    assert.equal((await call(`/v1/batches/${id}/cancel`, { method: 'POST' })).status, 202);
    const ended = await changeItems(id, [{ kind: 'end', index: 1, state: 'succeeded' }]);
    assert.equal(ended.status, 'canceled');
    const got = BatchViewSchema.parse(await (await call(`/v1/batches/${id}`)).json());
    assert.deepEqual([got.status, got.counts.succeeded, got.counts.canceled], ['canceled', 1, 2]);
  });

  test('409 batch_not_cancelable once the batch completed', async () => {
    const id = await create(2);
    await changeItems(id, [
      { kind: 'start', index: 0 },
      { kind: 'start', index: 1 },
      { kind: 'end', index: 0, state: 'succeeded' },
      { kind: 'end', index: 1, state: 'failed' },
    ]);
    const res = await call(`/v1/batches/${id}/cancel`, { method: 'POST' });
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as Problem).code, 'batch_not_cancelable');
    assert.equal((await batches().get('acme', id))!.batch.status, 'completed');
  });

  test('results: what has ended so far (partial), then every item (complete), then the stored results file', async () => {
    const id = await create(3);
    await endedJob(id, 0, 'succeeded');
    await endedJob(id, 2, 'failed');
    await changeItems(id, [
      { kind: 'start', index: 0 },
      { kind: 'start', index: 1 },
      { kind: 'start', index: 2 },
      { kind: 'end', index: 2, state: 'failed' },
      { kind: 'end', index: 0, state: 'succeeded' },
    ]);
    const partial = await call(`/v1/batches/${id}/results`);
    assert.equal(partial.status, 200);
    assert.equal(partial.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(partial.headers.get('batch-results'), 'partial');
    assert.equal(partial.headers.get('cache-control'), 'no-store');
    const lines = (await partial.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; status: string; output?: { text: string }; error?: unknown });
    assert.deepEqual(
      lines.map((l) => [l.custom_id, l.status]),
      [
        ['a', 'succeeded'],
        ['c', 'failed'],
      ],
    );
    assert.equal(lines[0]!.output?.text, 'answer a');
    assert.deepEqual(lines[1]!.error, { code: 'model_error', message: 'boom' });

    await endedJob(id, 1, 'succeeded');
    await changeItems(id, [{ kind: 'end', index: 1, state: 'succeeded' }]);
    const complete = await call(`/v1/batches/${id}/results`);
    assert.equal(complete.headers.get('batch-results'), 'complete');
    const all = (await complete.text()).trimEnd().split('\n');
    assert.deepEqual(
      all.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id),
      ['a', 'b', 'c'],
    );

    const stored = '{"custom_id":"from-the-results-file"}\n';
    await h.aws.store.put(keys.batchResults('acme', id), stored, { contentType: 'application/x-ndjson' });
    const file = await call(`/v1/batches/${id}/results`);
    assert.equal(file.headers.get('batch-results'), 'complete');
    assert.equal(await file.text(), stored);
  });

  test('GET /v1/batches/{id}: ETag/304, Retry-After while open, Prefer: wait returns when the batch ends', async () => {
    const id = await create(1);
    const first = await call(`/v1/batches/${id}`);
    assert.equal(first.status, 200);
    assert.ok(first.headers.get('retry-after'));
    const etag = first.headers.get('etag')!;
    assert.equal((await call(`/v1/batches/${id}`, { headers: { 'if-none-match': etag } })).status, 304);
    setTimeout(() => void call(`/v1/batches/${id}/cancel`, { method: 'POST' }), 200);
    const waited = await call(`/v1/batches/${id}`, { headers: { prefer: 'wait=30' } });
    assert.equal(waited.headers.get('preference-applied'), 'wait=30');
    assert.equal(BatchViewSchema.parse(await waited.json()).status, 'canceled');
    assert.equal(waited.headers.get('retry-after'), null);
  });

  test('GET /v1/batches lists oldest first, pages with after, filters by status', async () => {
    const ids = [await create(1), await create(1), await create(1)];
    await call(`/v1/batches/${ids[1]}/cancel`, { method: 'POST' });
    const all = BatchListSchema.parse(await (await call('/v1/batches?limit=100')).json());
    const listed = all.data.map((b) => b.id);
    assert.deepEqual(
      listed.filter((x) => ids.includes(x)),
      ids,
    );
    assert.deepEqual(listed, [...listed].sort());
    const page = BatchListSchema.parse(await (await call(`/v1/batches?limit=1&after=${ids[0]}`)).json());
    assert.deepEqual([page.data[0]?.id, page.has_more, page.next_cursor], [ids[1], true, ids[1]]);
    const canceled = BatchListSchema.parse(await (await call('/v1/batches?status=canceled&limit=100')).json());
    assert.ok(canceled.data.every((b) => b.status === 'canceled'));
    assert.ok(canceled.data.some((b) => b.id === ids[1]));
    assert.ok(!canceled.data.some((b) => b.id === ids[0]));
    assert.equal((await call('/v1/batches?status=done')).status, 422);
    const globex = BatchListSchema.parse(await (await call('/v1/batches', { key: KEYS.globex })).json());
    assert.deepEqual(globex.data, []);
  });

  test("another tenant's batch (and a malformed id) is 404 on every route; unsupported methods get 405", async () => {
    const id = await create(1);
    for (const [path, method] of [
      [`/v1/batches/${id}`, 'GET'],
      [`/v1/batches/${id}/cancel`, 'POST'],
      [`/v1/batches/${id}/results`, 'GET'],
    ] as const) {
      const res = await call(path, { method, key: KEYS.globex });
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as Problem).code, 'not_found');
    }
    assert.equal((await call('/v1/batches/batch_nope')).status, 404);
    assert.equal((await call(`/v1/batches/${id}`)).status, 200);
    const put = await call(`/v1/batches/${id}`, { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET');
    assert.equal((await call('/v1/batches', { method: 'DELETE' })).headers.get('allow'), 'GET, POST');
  });

  test('/v1/usage counts batch items among the jobs as batch_jobs', async () => {
    const rec = (jobId: string, batchId?: string) =>
      UsageRecordSchema.parse({
        job_id: jobId,
        ...(batchId ? { batch_id: batchId } : {}),
        tenant: 'acme',
        api_key_id: 'key_acme2',
        status: 'succeeded',
        completed_at: '2026-05-01T12:00:00.000Z',
        prompt_tokens: 10,
        image_tokens: 1024,
        completion_tokens: 5,
        images: 1,
        gpu_ms: 10,
        queue_ms: 3,
      });
    const batchId = 'batch_00000000000000000000000000';
    const rows = [
      rec('job_00000000000000000000000001', batchId),
      rec('job_00000000000000000000000002', batchId),
      rec('job_00000000000000000000000003'),
    ];
    for (const r of rows) await putJson(h.aws.store, keys.usage('acme', '2026-05-01', r.job_id), r);
    const body = UsageReportSchema.parse(await (await call('/v1/usage?from=2026-05-01&to=2026-05-01')).json());
    const acme2 = body.data.find((d) => d.api_key_id === 'key_acme2');
    assert.deepEqual([acme2?.jobs, acme2?.batch_jobs], [3, 2]);
  });

  test('item job ids are valid, distinct and the same on a retry of the same batch', async () => {
    const batchId = 'batch_01jd0000000000000000000000';
    const ids = await itemJobIds(batchId, 50_000);
    assert.ok(ids.every(isJobId));
    assert.equal(new Set(ids).size, 50_000);
    assert.ok(ids.every((id) => id.startsWith('job_01jd000000')));
    assert.deepEqual(await itemJobIds(batchId, 3), ids.slice(0, 3));
    assert.notDeepEqual(await itemJobIds('batch_01jd000000000000000000000z', 3), ids.slice(0, 3));
  });

  test('GET /openapi.json describes every batch route and its schemas', async () => {
    const doc = (await (await call('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.ok(doc.paths['/v1/batches']?.post?.responses['413']);
    assert.ok(doc.paths['/v1/batches']?.post?.responses['503']);
    assert.ok(doc.paths['/v1/batches']?.get);
    assert.ok(doc.paths['/v1/batches/{id}']?.get);
    assert.ok(doc.paths['/v1/batches/{id}/cancel']?.post?.responses['409']);
    assert.ok(doc.paths['/v1/batches/{id}/results']?.get);
    for (const id of ['Batch', 'BatchList', 'BatchRequestLine', 'BatchResultLine', 'BatchCounts', 'BatchStatus'])
      assert.ok(doc.components.schemas[id], `schema ${id}`);
    assert.equal('BatchRecord' in doc.components.schemas, false);
  });
});
