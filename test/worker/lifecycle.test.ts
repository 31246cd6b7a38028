import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  encodeJobMessage,
  getJson,
  JobEventSchema,
  keys,
  UsageRecordSchema,
  utcDay,
  webhookIdFor,
} from '../../shared/index.ts';
import { getJob, seedJob, TENANT, TEST_IMAGE, waitFor, waitForStatus } from './support/harness.ts';
import { inProcessWorkerSuite } from './support/in-process-suite.ts';
import { expectedAnswerHead } from './support/scripted-analyzer.ts';

const MAX_RECEIVES = 3;

describe('gpu worker job lifecycle (real S3/SQS on loopback, in-process worker)', () => {
  const s = inProcessWorkerSuite(MAX_RECEIVES);

  test('happy path: queued → running → succeeded with output, usage, events and signed webhooks', async () => {
    const w = await s.useWorker();
    const seeded = await seedJob(s.aws, { prompt: 'Describe it steps=4', webhookUrl: s.receiver.url });
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed', 'canceled']);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempts, 1);
    assert.ok(job.started_at && job.completed_at);
    assert.equal(job.output?.text, `${expectedAnswerHead(TEST_IMAGE, 'Describe it steps=4')} t1 t2 t3`);
    assert.equal(job.output?.finish_reason, 'stop');
    assert.equal(job.output?.completion_tokens, 4);
    assert.equal(job.usage?.image_tokens, 1024);
    assert.equal(job.usage?.completion_tokens, 4);
    assert.equal(job.usage?.total_tokens, (job.usage?.prompt_tokens ?? 0) + 1024 + 4);
    assert.ok((job.usage?.gpu_ms ?? 0) > 0);

    const usage = await getJson(s.aws.store, keys.usage(TENANT, utcDay(job.completed_at!), job.id), (v) =>
      UsageRecordSchema.parse(v),
    );
    assert.equal(usage?.value.status, 'succeeded');
    assert.equal(usage?.value.completion_tokens, 4);
    assert.equal(usage?.value.gpu_ms, job.usage?.gpu_ms);

    const page = await s.aws.store.list(keys.eventsPrefix(TENANT));
    const events = [];
    for (const item of page.items) {
      const e = await getJson(s.aws.store, item.key, (v) => JobEventSchema.parse(v));
      if (e?.value.job_id === job.id) events.push(e.value.type);
    }
    assert.deepEqual(events, ['job.started', 'job.succeeded']);

    await waitFor('two webhooks', async () => s.receiver.forJob(job.id).length >= 2);
    const got = s.receiver.forJob(job.id);
    assert.deepEqual(got.map((d) => d.type).sort(), ['job.started', 'job.succeeded']);
    assert.equal(got.find((d) => d.type === 'job.succeeded')?.id, webhookIdFor(job, 'job.succeeded'));
    assert.equal(s.receiver.rejected.length, 0, 'every delivery verified with the standardwebhooks library');
    const withAttempts = await waitFor('attempts recorded', async () => {
      const j = await getJob(s.aws, job.id);
      return j.webhook_attempts.length === 2 ? j : null;
    });
    for (const a of withAttempts.webhook_attempts) {
      assert.equal(a.outcome, 'delivered');
      assert.equal(a.status_code, 204);
      assert.equal(a.attempt, 1);
    }
    assert.deepEqual(await s.aws.jobQueue.depth(), { visible: 0, inFlight: 0, delayed: 0 }, 'job message deleted');

    const metrics = await (await fetch(`http://127.0.0.1:${w.opsPort}/metrics`)).text();
    assert.match(metrics, /yivl_worker_jobs_total\{outcome="succeeded"\} 1/);
    assert.match(metrics, /yivl_worker_webhook_attempts_total\{outcome="delivered"\} 2/);
    assert.match(metrics, /yivl_worker_run_seconds_count 1/);
    const health = await fetch(`http://127.0.0.1:${w.opsPort}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a redelivered message for a finished job is acknowledged without running again', async () => {
    await s.useWorker();
    const seeded = await seedJob(s.aws, { prompt: 'once' });
    await waitForStatus(s.aws, seeded.id, ['succeeded']);
    const callsBefore = s.analyzer.calls;
    await s.aws.jobQueue.send(encodeJobMessage(seeded.id, TENANT));
    await waitFor('duplicate acked', async () => {
      const d = await s.aws.jobQueue.depth();
      return d.visible + d.inFlight === 0;
    });
    assert.equal(s.analyzer.calls, callsBefore);
    assert.equal((await getJob(s.aws, seeded.id)).attempts, 1);
  });

  test('the heartbeat keeps a job longer than its lease from being redelivered', async () => {
    // A free second slot would pick the message up again if its lease lapsed.
    await s.useWorker({ JOB_VISIBILITY_TIMEOUT_SECONDS: '2', WORKER_CONCURRENCY: '2' }, 100);
    const seeded = await seedJob(s.aws, { prompt: 'long steps=40' });
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed'], 15_000);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempts, 1);
    assert.equal(s.analyzer.calls, 1, 'ran once although it took twice the 2 s lease');
  });

  test('WORKER_CONCURRENCY bounds the jobs run at once', async () => {
    await s.useWorker({ WORKER_CONCURRENCY: '2' }, 50);
    const jobs = await Promise.all([1, 2, 3, 4].map(() => seedJob(s.aws, { prompt: 'steps=10' })));
    for (const j of jobs) await waitForStatus(s.aws, j.id, ['succeeded']);
    assert.equal(s.analyzer.maxActive, 2);
  });

  test('cancel while running stops the model and ends canceled with partial output', async () => {
    await s.useWorker({}, 100);
    const seeded = await seedJob(s.aws, { prompt: 'long steps=200', webhookUrl: s.receiver.url });
    await waitForStatus(s.aws, seeded.id, ['running']);
    await sleep(350);
    await s.aws.store.put(keys.cancel(TENANT, seeded.id), '');
    const job = await waitForStatus(s.aws, seeded.id, ['canceled', 'succeeded', 'failed'], 5000);
    assert.equal(job.status, 'canceled');
    assert.equal(job.output?.finish_reason, 'canceled');
    assert.ok((job.output?.completion_tokens ?? 0) > 0 && (job.output?.completion_tokens ?? 0) < 200);
    await waitFor('canceled webhook', async () => s.receiver.forJob(job.id).some((d) => d.type === 'job.canceled'));
  });

  test('queue TTL: an expired job is failed queue_ttl_expired without running', async () => {
    await s.useWorker();
    const calls = s.analyzer.calls;
    const seeded = await seedJob(s.aws, {
      createdAt: new Date(Date.now() - 120_000),
      expiresAt: new Date(Date.now() - 60_000),
    });
    const job = await waitForStatus(s.aws, seeded.id, ['failed', 'succeeded']);
    assert.equal(job.error?.code, 'queue_ttl_expired');
    assert.equal(job.attempts, 0);
    assert.equal(job.started_at, undefined);
    assert.equal(s.analyzer.calls, calls);
    assert.equal(job.usage?.gpu_ms, 0);
  });

  test('run timeout aborts the model and fails run_timeout', async () => {
    await s.useWorker({ RUN_TIMEOUT_SECONDS: '0.5' });
    const seeded = await seedJob(s.aws, { prompt: 'hang' });
    const job = await waitForStatus(s.aws, seeded.id, ['failed', 'succeeded'], 8000);
    assert.equal(job.error?.code, 'run_timeout');
  });

  test('non-retryable failures fail at once with a code (bad input, missing input)', async () => {
    await s.useWorker();
    const bad = await seedJob(s.aws, { prompt: 'fail' });
    const missing = await seedJob(s.aws, { withInput: false });
    const a = await waitForStatus(s.aws, bad.id, ['failed', 'succeeded']);
    const b = await waitForStatus(s.aws, missing.id, ['failed', 'succeeded']);
    assert.equal(a.error?.code, 'input_invalid');
    assert.equal(a.attempts, 1);
    assert.equal(b.error?.code, 'input_missing');
  });

  test('a message of an unknown version is left for the dead-letter queue', async () => {
    await s.useWorker();
    const body = JSON.stringify({ v: 99, job_id: 'job_x', tenant: TENANT });
    await s.aws.jobQueue.send(body);
    const dead = await waitFor(
      'unknown version dead-lettered',
      async () => (await s.aws.jobDlq.receive({ waitSeconds: 1, maxMessages: 10 })).find((m) => m.body === body),
      10_000,
    );
    assert.equal(dead.body, body);
    await s.aws.jobDlq.delete(dead.receiptHandle);
  });
});
