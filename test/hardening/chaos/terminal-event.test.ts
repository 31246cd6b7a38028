import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cancelJob } from '../../../edge/jobs/cancel-job.ts';
import { JobNotifier } from '../../../gpu-worker/runtime/notifier.ts';
import { getJson, type JobEvent, JobEventSchema, type JobRecord, JobRepository, keys } from '../../../shared/index.ts';
import { type LocalAws, startLocalAws } from '../../support/local-aws.ts';
import { seedJob, TENANT } from '../../worker/support/harness.ts';

/**
 * S3 going down between a job's final record write and its terminal event left the job
 * ended with no `job.succeeded` in the feed for good (the redelivered message only re-queued the webhook).
 */
let aws: LocalAws;
let repo: JobRepository;
before(async () => {
  aws = await startLocalAws();
  repo = new JobRepository(aws.store);
});
after(() => aws.close());

async function eventsOf(jobId: string): Promise<JobEvent[]> {
  const page = await aws.store.list(keys.eventsPrefix(TENANT));
  const events = await Promise.all(
    page.items.map(async (i) => (await getJson(aws.store, i.key, (v) => JobEventSchema.parse(v)))?.value),
  );
  return events.filter((e): e is JobEvent => e?.job_id === jobId);
}

async function end(job: JobRecord, status: 'succeeded' | 'canceled'): Promise<JobRecord> {
  const res = await repo.update(TENANT, job.id, (j) => ({ ...j, status, completed_at: new Date().toISOString() }));
  assert.ok(res?.changed);
  return res.job;
}

test('terminal event lost to an S3 outage is written by the redelivery, exactly once', async () => {
  const notifier = new JobNotifier(repo, aws.webhookQueue, 0);
  const job = await end(await seedJob(aws), 'succeeded');
  await aws.s3.stop();
  try {
    await assert.rejects(notifier.announce(job, 'job.succeeded'));
  } finally {
    await aws.s3.start();
  }
  assert.deepEqual(await eventsOf(job.id), []);
  // The job message comes back; the worker finds the job ended (possibly twice, on two workers).
  await notifier.ensureTerminalNotices(job);
  await notifier.ensureTerminalNotices(job);
  await notifier.announce(job, 'job.succeeded'); // a finisher that retries the whole announce
  const terminal = (await eventsOf(job.id)).filter((e) => e.type === 'job.succeeded');
  assert.equal(terminal.length, 1);
  assert.equal(terminal[0]?.created_at, job.completed_at);
});

test('cancel: repeating it, or the worker finding the job canceled, adds no second job.canceled event', async () => {
  const seeded = await seedJob(aws);
  const deps = { repo, store: aws.store, webhookQueue: aws.webhookQueue };
  const first = await cancelJob(deps, TENANT, seeded.id, new Date());
  assert.equal(first?.outcome, 'canceled');
  await cancelJob(deps, TENANT, seeded.id, new Date());
  await new JobNotifier(repo, aws.webhookQueue, 0).ensureTerminalNotices(first.job);
  const canceled = (await eventsOf(seeded.id)).filter((e) => e.type === 'job.canceled');
  assert.equal(canceled.length, 1);
  assert.notEqual(canceled[0]?.id, `evt_${seeded.id.slice(4)}`, 'distinct from the job.queued event id');
});
