/**
 * Batches end to end on real loopback S3/SQS: the edge app takes a JSONL file, an in-process worker (scripted
 * analyzer) takes the intake and the items from the batch queue, fetches or reads each image and prepares it with
 * the Node edge's preprocessing, and publishes the end once: results file, event, one signed webhook. Interactive
 * jobs go before queued batch items; cancel ends the items not started.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createImageFetcher } from '../../edge/adapter/node/build-deps.ts';
import { createApp } from '../../edge/app.ts';
import { parseEdgeConfig } from '../../edge/config.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { preprocessForYiVl } from '../../shared/image/sharp-preprocess.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { BatchCounts } from '../../shared/schemas/batch.ts';
import type { JobRecord } from '../../shared/schemas/job.ts';
import { deriveWebhookSecret } from '../../shared/webhooks/signing.ts';
import { edgeEnv, KEYS } from '../edge/support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from '../edge/support/fixtures.ts';
import { SIGNING_KEY, WebhookReceiver, waitFor as waitForWhat } from '../worker/support/harness.ts';
import { inProcessWorkerSuite } from '../worker/support/in-process-suite.ts';
import { expectedAnswerHead } from '../worker/support/scripted-analyzer.ts';

const waitFor = <T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 60_000) =>
  waitForWhat(what, probe, timeoutMs);

interface BatchView {
  id: string;
  status: string;
  counts: BatchCounts;
}

describe('batches through the edge and a worker (real S3/SQS on loopback)', () => {
  const s = inProcessWorkerSuite(3);

  async function edge() {
    const config = parseEdgeConfig(await edgeEnv(s.aws));
    const app = createApp({
      store: s.aws.store,
      jobQueue: s.aws.jobQueue,
      webhookQueue: s.aws.webhookQueue,
      batchQueue: s.aws.batchQueue,
      images: new SharpImageProcessor(),
      fetchImage: createImageFetcher(config),
      config,
      logger: pino({ level: 'silent' }),
    });
    return (path: string, init: RequestInit = {}) =>
      Promise.resolve(
        app.request(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${KEYS.acme}` } }),
      );
  }

  async function submit(call: Awaited<ReturnType<typeof edge>>, lines: object[], fields: Record<string, string> = {}) {
    const form = multipart(null, fields);
    const file = `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
    form.set('requests', new Blob([file], { type: 'application/x-ndjson' }), 'requests.jsonl');
    const res = await call('/v1/batches', { method: 'POST', body: form });
    const body = (await res.json()) as BatchView;
    assert.equal(res.status, 202, JSON.stringify(body));
    return body;
  }

  async function waitEnded(call: Awaited<ReturnType<typeof edge>>, id: string, timeoutMs = 120_000) {
    return waitFor(
      async () => {
        const view = (await (await call(`/v1/batches/${id}`, { headers: { prefer: 'wait=5' } })).json()) as BatchView;
        return view.status === 'completed' || view.status === 'canceled' ? view : null;
      },
      `batch ${id} to end`,
      timeoutMs,
    );
  }

  async function imageServer(image: Uint8Array): Promise<{ url: string; close(): Promise<void>; server: Server }> {
    const server = createServer((req, res) => {
      if (req.url === '/photo.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, server, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  test('every item ends once: prepared images, results in input order, counts, one batch.completed webhook', async () => {
    await s.useWorker({ WORKER_CONCURRENCY: '2', BATCH_INTAKE_CHUNK: '4' });
    const call = await edge();
    const receiver = await WebhookReceiver.start(await deriveWebhookSecret(SIGNING_KEY, 'key_acme'));
    const colours = ['#c04030', '#30c040', '#4030c0', '#c0c040', '#40c0c0', '#c040c0', '#808080', '#202020'];
    const images = await Promise.all(colours.map((c, i) => jpeg(64 + i * 8, 48, c)));
    const remote = await jpeg(90, 120, '#ff8800');
    const server = await imageServer(remote);
    try {
      const lines: { custom_id: string; image_url: string; prompt: string }[] = images.map((img, i) => ({
        custom_id: `photo-${i}`,
        image_url: dataUrl(img),
        prompt: `What colour is photo ${i}?`,
      }));
      lines.push({ custom_id: 'remote', image_url: `${server.url}/photo.jpg`, prompt: 'Describe the remote photo.' });
      lines.push({ custom_id: 'gone', image_url: `${server.url}/missing.jpg`, prompt: 'Describe.' });
      lines.push({
        custom_id: 'garbage',
        image_url: dataUrl(new TextEncoder().encode('not an image at all')),
        prompt: 'Describe.',
      });
      const created = await submit(call, lines, { webhook: receiver.url, metadata: '{"run":"nightly"}' });
      assert.equal(created.counts.total, 11);

      const ended = await waitEnded(call, created.id);
      assert.equal(ended.status, 'completed');
      assert.deepEqual(ended.counts, { total: 11, queued: 0, running: 0, succeeded: 9, failed: 2, canceled: 0 });

      const res = await call(`/v1/batches/${created.id}/results`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('batch-results'), 'complete');
      const results = (await res.text())
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              custom_id: string;
              job_id: string;
              status: string;
              output?: { text: string };
              error?: { code: string };
            },
        );
      assert.deepEqual(
        results.map((r) => r.custom_id),
        lines.map((l) => l.custom_id),
        'one line per item, in input order',
      );
      // Each answer was made from the model input the Node edge would have made of the same file.
      for (const [i, img] of [...images, remote].entries()) {
        const { png } = await preprocessForYiVl(img, DEFAULT_IMAGE_LIMITS);
        const r = results[i]!;
        assert.equal(r.status, 'succeeded', JSON.stringify(r));
        assert.ok(
          r.output?.text.startsWith(expectedAnswerHead(png, lines[i]!.prompt)),
          `${r.custom_id}: prepared input`,
        );
      }
      assert.equal(results[9]!.error?.code, 'image_fetch_failed');
      assert.ok(
        ['image_corrupt', 'unsupported_media_type'].includes(results[10]!.error?.code ?? ''),
        JSON.stringify(results[10]),
      );

      // Each item is an ordinary job, with its batch and custom_id; a follow-up question works on it.
      const job = (await (await call(`/v1/jobs/${results[0]!.job_id}`)).json()) as Record<string, unknown>;
      assert.equal(job.batch_id, created.id);
      assert.equal(job.custom_id, 'photo-0');
      assert.equal((job.input as { width: number }).width, 64);
      assert.equal('pending_input' in job, false, 'internal field');
      const follow = await call('/v1/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ parent: results[0]!.job_id, prompt: 'And the shape?' }),
      });
      assert.equal(follow.status, 202, await follow.clone().text());

      await waitFor(async () => receiver.deliveries.length >= 1 || null, 'the batch webhook');
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(
        receiver.deliveries.map((d) => d.type),
        ['batch.completed'],
        'one webhook for the batch, none per item',
      );
      const payload = JSON.parse(receiver.deliveries[0]!.body) as { data: BatchView & { urls: { results: string } } };
      assert.equal(payload.data.counts.succeeded, 9);
      assert.equal(payload.data.urls.results, `/v1/batches/${created.id}/results`);

      const events = (await (await call('/v1/events?limit=100')).json()) as {
        data: { type: string; batch_id?: string }[];
      };
      const batchEvents = events.data.filter((e) => e.batch_id === created.id).map((e) => e.type);
      assert.deepEqual(batchEvents, ['batch.queued', 'batch.completed']);
      const usage = (await (await call('/v1/usage')).json()) as { data: { api_key_id: string; batch_jobs: number }[] };
      assert.equal(
        usage.data.find((u) => u.api_key_id === 'key_acme')?.batch_jobs,
        11,
        'batch items billed to the key',
      );
    } finally {
      await server.close();
      await receiver.stop();
    }
  });

  test('interactive jobs go before queued batch items; cancel ends the items not started', async () => {
    // One slot, ~0.3 s per item: a 500-item batch keeps the worker busy for longer than the test runs.
    const stepMs = 100;
    await s.useWorker({ WORKER_CONCURRENCY: '1', BATCH_INTAKE_CHUNK: '100' }, stepMs);
    const call = await edge();
    const image = dataUrl(await jpeg(32, 32));
    const lines = Array.from({ length: 500 }, (_, i) => ({
      custom_id: `item-${i}`,
      image_url: image,
      prompt: `item ${i}`,
    }));
    const created = await submit(call, lines);
    const batches = new BatchRepository(s.aws.store);
    // Every item queued (the intake is done) and the worker busy with them.
    await waitFor(
      async () => {
        const b = (await batches.get('acme', created.id))?.batch;
        return (b?.intake.done && (b.item_states.match(/s/g)?.length ?? 0) >= 3) || null;
      },
      'the intake and three batch items',
      180_000,
    );

    const res = await call('/v1/jobs', {
      method: 'POST',
      body: multipart(await jpeg(40, 40), { prompt: 'Interactive?' }),
    });
    assert.equal(res.status, 202);
    const interactive = (await res.json()) as { id: string };
    const repo = new JobRepository(s.aws.store);
    const done = await waitFor(async () => {
      const j = (await repo.get('acme', interactive.id))?.job;
      return j?.status === 'succeeded' ? j : null;
    }, 'the interactive job');

    // The interactive job waited for at most one batch item (one slot): the one running when it arrived, or one whose
    // receive was under way when its record was written (its message is sent just after). With batch items first or
    // in turn with jobs, hundreds of queued items would be ahead of it.
    const batchJobs = await jobsOfBatch(repo, created.id);
    const arrived = Date.parse(done.created_at);
    const started = Date.parse(done.started_at!);
    const startedBetween = batchJobs.filter(
      (j) => j.started_at && Date.parse(j.started_at) > arrived && Date.parse(j.started_at) < started,
    );
    assert.ok(
      startedBetween.length <= 1,
      `batch items started while the interactive job waited: ${startedBetween.length}`,
    );
    const runMs = 3 * stepMs;
    console.log(`# interactive queue wait ${started - arrived} ms (one item runs ≈ ${runMs} ms + overhead)`);

    const cancel = await call(`/v1/batches/${created.id}/cancel`, { method: 'POST' });
    assert.ok([200, 202].includes(cancel.status), String(cancel.status));
    const ended = await waitEnded(call, created.id);
    assert.equal(ended.status, 'canceled');
    assert.equal(ended.counts.succeeded + ended.counts.failed + ended.counts.canceled, 500);
    assert.ok(ended.counts.canceled > 400, JSON.stringify(ended.counts));
    const results = (await (await call(`/v1/batches/${created.id}/results`)).text()).trim().split('\n');
    assert.equal(results.length, 500);
    assert.equal(new Set(results.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).size, 500);
  });

  async function jobsOfBatch(repo: JobRepository, batchId: string): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    let token: string | undefined;
    do {
      const page = await s.aws.store.list('jobs/acme/', token ? { continuationToken: token } : {});
      for (const item of page.items) {
        const id = item.key.slice('jobs/acme/'.length, -'.json'.length);
        const j = (await repo.get('acme', id))?.job;
        if (j?.batch_id === batchId) out.push(j);
      }
      token = page.continuationToken;
    } while (token);
    return out;
  }
});
