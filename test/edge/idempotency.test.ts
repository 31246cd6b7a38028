import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ImageLimits, ImageProcessor, PreparedImage } from '../../edge/image/image-processor.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { idempotencyKeyHash } from '../../edge/jobs/idempotency.ts';
import { newJobId } from '../../shared/ids.ts';
import { getJson, putJson } from '../../shared/ports/object-store.ts';
import { IdempotencyRecordSchema } from '../../shared/schemas/usage.ts';
import { keys } from '../../shared/storage/keys.ts';
import { type EdgeHarness, KEYS, startEdgeHarness } from './support/edge-harness.ts';
import { jpeg, multipart } from './support/fixtures.ts';

/** The real sharp processor, held at a gate so a test can keep a request in flight. */
class GatedProcessor implements ImageProcessor {
  private readonly inner = new SharpImageProcessor();
  gate: Promise<void> | null = null;
  entered: (() => void) | null = null;
  async prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage> {
    this.entered?.();
    if (this.gate) await this.gate;
    return this.inner.prepare(upload, limits);
  }
}

type Body = { id: string; code?: string };

describe('Idempotency-Key on POST /v1/jobs', () => {
  let h: EdgeHarness;
  let image: Uint8Array;
  const images = new GatedProcessor();
  const post = (key: string | null, fields: Record<string, string> = {}, apiKey: string = KEYS.acme, img = image) =>
    h.call('/v1/jobs', {
      method: 'POST',
      key: apiKey,
      headers: key === null ? {} : { 'idempotency-key': key },
      body: multipart(img, { prompt: 'Describe.', ...fields }),
    });
  const drain = async () => {
    const out: string[] = [];
    for (;;) {
      const msgs = await h.aws.jobQueue.receive({ waitSeconds: 0, maxMessages: 10 });
      if (msgs.length === 0) return out;
      for (const m of msgs) {
        out.push(JSON.parse(m.body).job_id);
        await h.aws.jobQueue.delete(m.receiptHandle);
      }
    }
  };

  before(async () => {
    // No queue-depth gate here, so an SQS outage hits the create's last step (the send), not the gate.
    h = await startEdgeHarness({ env: { IDEMPOTENCY_LOCK_SECONDS: '2', MAX_QUEUE_DEPTH: '0' }, overrides: { images } });
    image = await jpeg(40, 30);
  });
  after(async () => h.close());

  test('same key + same request → the same job, replayed, one message', async () => {
    const a = await post('order-1');
    const b = await post('"order-1"'); // the sf-string form names the same key
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(a.headers.get('idempotent-replayed'), null);
    const [ja, jb] = [(await a.json()) as Body, (await b.json()) as Body];
    assert.equal(ja.id, jb.id);
    assert.deepEqual(await drain(), [ja.id]);
    // Keys are per API key: the same key from another API key is a new request.
    const other = await post('order-1', {}, KEYS.acme2);
    assert.notEqual(((await other.json()) as Body).id, ja.id);
    await drain();
  });

  test('same key + different request → 422; client errors are not remembered', async () => {
    assert.equal((await post('order-2')).status, 202);
    const diff = await post('order-2', { prompt: 'Something else?' });
    assert.equal(diff.status, 422);
    assert.equal(((await diff.json()) as Body).code, 'idempotency_key_reused');
    const otherImage = await post('order-2', {}, KEYS.acme, await jpeg(40, 30, '#00ff00'));
    assert.equal(otherImage.status, 422);
    const bad = await post('order-3', { temperature: 'hot' });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as Body).code, 'validation_failed');
    const corrupt = await post('order-4', {}, KEYS.acme, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    assert.ok([415, 422].includes(corrupt.status));
    assert.equal(
      await h.aws.store.head(keys.idempotency('acme', await idempotencyKeyHash('key_acme', 'order-4'))),
      null,
    );
    const fixed = await post('order-4');
    assert.equal(fixed.status, 202);
    assert.equal((await post('x'.repeat(256))).status, 400);
    await drain();
  });

  test('a retry while the first request is in flight → 409 with Retry-After; afterwards → replay', async () => {
    let release!: () => void;
    images.gate = new Promise<void>((r) => {
      release = r;
    });
    const entered = new Promise<void>((r) => {
      images.entered = r;
    });
    const first = post('order-5');
    await entered;
    images.entered = null;
    const second = await post('order-5');
    assert.equal(second.status, 409);
    assert.equal(((await second.json()) as Body).code, 'idempotency_in_progress');
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    images.gate = null;
    release();
    const done = await first;
    assert.equal(done.status, 202);
    const third = await post('order-5');
    assert.equal(third.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await third.json()) as Body).id, ((await done.json()) as Body).id);
    await drain();
  });

  test('SQS down mid-create → 503 and nothing visible; the retry with the same key completes it', async () => {
    const listBefore = ((await (await h.call('/v1/jobs?limit=100')).json()) as { data: Body[] }).data.length;
    await h.aws.sqs.stop();
    let failed: Response;
    try {
      failed = await post('order-6');
    } finally {
      await h.aws.sqs.start();
    }
    assert.equal(failed.status, 503);
    assert.equal(((await failed.json()) as Body).code, 'dependency_unavailable');
    assert.ok(failed.headers.get('retry-after'));
    const listAfter = ((await (await h.call('/v1/jobs?limit=100')).json()) as { data: Body[] }).data.length;
    assert.equal(listAfter, listBefore, 'the half-done job was rolled back');
    assert.ok(h.logs.some((l) => l.includes('dependency failure')));
    const inputs = await h.aws.store.list('inputs/acme/');
    const jobsStored = await h.aws.store.list('jobs/acme/');
    assert.equal(inputs.items.length, jobsStored.items.length, 'no orphaned input object');
    const retry = await post('order-6');
    assert.equal(retry.status, 202);
    const job = (await retry.json()) as Body;
    assert.deepEqual(await drain(), [job.id]);
    assert.equal(((await (await h.call(`/v1/jobs/${job.id}`)).json()) as { status: string }).status, 'queued');
  });

  test('concurrent requests with one key create exactly one job; expired keys start afresh', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => post('order-9')));
    const statuses = results.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 202 || s === 409),
      String(statuses),
    );
    const ids = new Set(
      await Promise.all(results.filter((r) => r.status === 202).map(async (r) => ((await r.json()) as Body).id)),
    );
    assert.equal(ids.size, 1);
    assert.deepEqual(await drain(), [...ids]);
    const key = keys.idempotency('acme', await idempotencyKeyHash('key_acme', 'order-9'));
    const stored = await getJson(h.aws.store, key, (v) => IdempotencyRecordSchema.parse(v));
    await putJson(h.aws.store, key, { ...stored!.value, expires_at: new Date(Date.now() - 1000).toISOString() });
    const fresh = await post('order-9', { prompt: 'A different question after expiry.' });
    assert.equal(fresh.status, 202);
    assert.equal(fresh.headers.get('idempotent-replayed'), null);
    assert.equal(ids.has(((await fresh.json()) as Body).id), false);
    await drain();
  });

  test('a create that died after the job record (stale pending key) is completed by the retry, same job id', async () => {
    // What a crashed edge instance leaves: input + queued job + pending idempotency record, no message.
    const first = await post(null);
    const job = (await first.json()) as Body & { created_at: string };
    await drain();
    await h.aws.store.delete(keys.event('acme', `evt_${job.id.slice(4)}`));
    const hash = await idempotencyKeyHash('key_acme', 'order-7');
    const fingerprintSource = await post('order-7-probe');
    await drain();
    const probe = await getJson(
      h.aws.store,
      keys.idempotency('acme', await idempotencyKeyHash('key_acme', 'order-7-probe')),
      (v) => IdempotencyRecordSchema.parse(v),
    );
    assert.ok(probe && fingerprintSource.status === 202);
    const stale = new Date(Date.now() - 10_000).toISOString();
    await putJson(h.aws.store, keys.idempotency('acme', hash), {
      ...probe.value,
      key_hash: hash,
      job_id: job.id,
      state: 'pending',
      created_at: stale,
    });
    const retry = await post('order-7');
    assert.equal(retry.status, 202);
    assert.equal(((await retry.json()) as Body).id, job.id);
    assert.deepEqual(await drain(), [job.id]);
    // Completed record whose message never went out (no job.queued marker): the replay sends it, once.
    await h.aws.store.delete(keys.event('acme', `evt_${job.id.slice(4)}`));
    assert.equal((await post('order-7')).headers.get('idempotent-replayed'), 'true');
    assert.equal((await post('order-7')).headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await drain(), [job.id]);
  });

  test('a pending key whose job never got written is recreated under the same job id', async () => {
    const hash = await idempotencyKeyHash('key_acme', 'order-8');
    await post('order-8-probe');
    await drain();
    const probe = await getJson(
      h.aws.store,
      keys.idempotency('acme', await idempotencyKeyHash('key_acme', 'order-8-probe')),
      (v) => IdempotencyRecordSchema.parse(v),
    );
    const jobId = newJobId();
    await putJson(h.aws.store, keys.idempotency('acme', hash), {
      ...probe!.value,
      key_hash: hash,
      job_id: jobId,
      state: 'pending',
      created_at: new Date(Date.now() - 10_000).toISOString(),
    });
    const retry = await post('order-8');
    assert.equal(retry.status, 202);
    assert.equal(((await retry.json()) as Body).id, jobId);
    assert.deepEqual(await drain(), [jobId]);
  });
});
