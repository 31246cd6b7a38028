/**
 * The delivery contract: SQS standard queues deliver at least once and the edge may send a job's message twice, so a
 * job can have several messages; every accepted job still runs once: one `running` transition, one terminal state,
 * one terminal event, one usage record and one terminal webhook.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import {
  encodeJobMessage,
  getJson,
  JobEventSchema,
  type JobRecord,
  keys,
  UsageRecordSchema,
  utcDay,
} from '../../shared/index.ts';
import { getJob as readJob, seedJob, startTestWorker, TENANT, waitFor, waitForStatus } from './support/harness.ts';
import { inProcessWorkerSuite } from './support/in-process-suite.ts';
import { ScriptedAnalyzer } from './support/scripted-analyzer.ts';

const MAX_RECEIVES = 3;
const DAY_MS = 86_400_000;

describe('duplicate job messages (real S3/SQS on loopback, in-process worker)', () => {
  const s = inProcessWorkerSuite(MAX_RECEIVES);

  /** Messages left on the job queue, however the server counts in-flight ones (0 means none at all). */
  const queueDepth = async () => {
    const d = await s.aws.jobQueue.depth();
    return d.visible + d.inFlight + d.delayed;
  };

  /** Event types of one job in the tenant's feed, in feed order. */
  const eventsOf = async (jobId: string) => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s.aws.store.list(keys.eventsPrefix(TENANT), token ? { continuationToken: token } : {});
      for (const item of page.items) {
        const e = await getJson(s.aws.store, item.key, (v) => JobEventSchema.parse(v));
        if (e?.value.job_id === jobId) out.push(e.value.type);
      }
      token = page.continuationToken;
    } while (token);
    return out;
  };

  const usageKeysOf = async (jobId: string) =>
    (await s.aws.store.list(keys.tenantPrefix('usage', TENANT))).items
      .map((i) => i.key)
      .filter((k) => k.endsWith(`/${jobId}.json`));

  const getJob = (id: string) => readJob(s.aws, id);

  // Each test starts with no worker and an empty job queue, so nothing a failed test left behind leaks into the next.
  beforeEach(async () => {
    await s.stopWorker();
    for (;;) {
      const batch = await s.aws.jobQueue.receive({ maxMessages: 10, waitSeconds: 1 });
      if (batch.length === 0 && (await queueDepth()) === 0) return;
      for (const m of batch) await s.aws.jobQueue.delete(m.receiptHandle);
    }
  });

  /** Everything a user sees of the job says it ran once and succeeded once. */
  async function assertRanOnce(job: JobRecord) {
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempts, 1, 'one running transition');
    assert.equal(s.analyzer.calls, 1, 'the model ran once');
    assert.deepEqual(await eventsOf(job.id), ['job.started', 'job.succeeded']);
    const usage = await usageKeysOf(job.id);
    assert.deepEqual(usage, [keys.usage(TENANT, utcDay(job.completed_at!), job.id)], 'one usage record');
    // Both webhooks delivered and recorded (a late duplicate would have been sent before its attempt is recorded).
    await waitFor('webhook attempts recorded', async () => {
      const j = await getJob(job.id);
      return j.webhook_attempts.length >= 2;
    });
    const got = s.receiver.forJob(job.id).map((d) => d.type);
    assert.deepEqual(got.sort(), ['job.started', 'job.succeeded'], 'one started and one terminal webhook');
    assert.equal(await queueDepth(), 0, 'every message of the job deleted');
  }

  test('a duplicate message sent while the job runs is dropped: the job runs once', async () => {
    // A second slot, so the duplicate is received while the first delivery is still running the job.
    const w = await s.useWorker({ WORKER_CONCURRENCY: '2' });
    const seeded = await seedJob(s.aws, { prompt: 'hold steps=2', webhookUrl: s.receiver.url });
    await s.analyzer.held;
    assert.equal((await getJob(seeded.id)).status, 'running');

    await s.aws.jobQueue.send(encodeJobMessage(seeded.id, TENANT));
    // Handled: dropped as a duplicate, or, were it run, a second model call (which waits at the same gate).
    const dropped = async () =>
      /yivl_worker_jobs_total\{outcome="duplicate"\} 1/.test(
        await (await fetch(`http://127.0.0.1:${w.opsPort}/metrics`)).text(),
      );
    await waitFor('the duplicate handled', async () => (await dropped()) || s.analyzer.calls > 1);
    assert.equal(s.analyzer.calls, 1, 'the duplicate did not start a second run');
    assert.equal((await getJob(seeded.id)).status, 'running', 'the first delivery still runs the job');

    s.analyzer.release();
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed', 'canceled']);
    await waitFor('the job message deleted', async () => (await queueDepth()) === 0);
    await assertRanOnce(job);
  });

  test('two messages of a queued job received together: one of them runs it', async () => {
    const seeded = await seedJob(s.aws, { prompt: 'twice steps=2', webhookUrl: s.receiver.url });
    await s.aws.jobQueue.send(encodeJobMessage(seeded.id, TENANT));
    await s.useWorker({ WORKER_CONCURRENCY: '2' });
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed', 'canceled']);
    await waitFor('both messages deleted', async () => (await queueDepth()) === 0);
    await assertRanOnce(job);
  });

  test('a job ended by another writer on another UTC day keeps one usage record, under the day it ended', async () => {
    // Worker A runs the job today; its message is dead-lettered meanwhile and worker B's sweeper, whose clock is a day
    // ahead, fails it. A's run then ends and finds the job ended: the usage record is B's, under B's day.
    await s.useWorker({}, 30, () => new Date());
    const seeded = await seedJob(s.aws, { prompt: 'hold' });
    await s.analyzer.held;
    const b = await startTestWorker(
      s.aws,
      new ScriptedAnalyzer(),
      { MAX_RECEIVE_COUNT: String(MAX_RECEIVES), JOB_DLQ_URL: s.aws.queues.jobDlqUrl },
      () => new Date(Date.now() + DAY_MS),
    );
    try {
      await s.aws.jobDlq.send(encodeJobMessage(seeded.id, TENANT));
      const failed = await waitForStatus(s.aws, seeded.id, ['failed', 'succeeded']);
      assert.equal(failed.error?.code, 'too_many_attempts');
      s.analyzer.release();
      await waitFor('the run ended and its message was deleted', async () => (await queueDepth()) === 0);
      const usage = await usageKeysOf(seeded.id);
      assert.deepEqual(usage, [keys.usage(TENANT, utcDay(failed.completed_at!), seeded.id)]);
      assert.notEqual(utcDay(failed.completed_at!), utcDay(new Date()), 'the two writers ended it on different days');
      const record = await getJson(s.aws.store, usage[0]!, (v) => UsageRecordSchema.parse(v));
      assert.equal(record?.value.status, 'failed');
      assert.equal((await getJob(seeded.id)).status, 'failed');
    } finally {
      await b.stop();
    }
  });
});
