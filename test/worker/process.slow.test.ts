import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getJson, JobEventSchema, keys, webhookIdFor } from '../../shared/index.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import {
  getJob,
  seedJob,
  spawnWorker,
  TENANT,
  TEST_IMAGE,
  WebhookReceiver,
  type WorkerProcess,
  waitFor,
  waitForStatus,
  workerEnv,
} from './support/harness.ts';
import { expectedAnswerHead } from './support/scripted-analyzer.ts';

/** Real worker processes (tsx + the scripted analyzer) against real local S3/SQS and a loopback receiver. */
describe('gpu worker processes: crash, drain and restart', () => {
  let aws: LocalAws;
  let receiver: WebhookReceiver;
  const running = new Set<WorkerProcess>();

  const start = (overrides: Record<string, string> = {}) => {
    const w = spawnWorker(workerEnv(aws, { SCRIPTED_STEP_MS: '100', ...overrides }));
    running.add(w);
    void w.exited.then(() => running.delete(w));
    return w;
  };
  const terminate = async (w: WorkerProcess) => {
    w.child.kill('SIGTERM');
    return w.exited;
  };

  before(async () => {
    aws = await startLocalAws({ maxReceiveCount: 5, visibilityTimeoutSeconds: 3 });
    receiver = await WebhookReceiver.start();
  });
  after(async () => {
    for (const w of running) w.child.kill('SIGKILL');
    await receiver.stop();
    await aws.close();
  });

  test('kill -9 mid-job: a second worker finishes it; one result, one succeeded webhook-id', async () => {
    const seeded = await seedJob(aws, { prompt: 'slow steps=25', webhookUrl: receiver.url });
    const first = start({ JOB_VISIBILITY_TIMEOUT_SECONDS: '2' });
    await waitForStatus(aws, seeded.id, ['running'], 15_000);
    await sleep(400);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null, 'killed by signal');

    const second = start({ JOB_VISIBILITY_TIMEOUT_SECONDS: '2' });
    const job = await waitForStatus(aws, seeded.id, ['succeeded', 'failed', 'canceled'], 20_000);
    assert.equal(job.status, 'succeeded', second.output());
    assert.equal(job.attempts, 2);
    assert.equal(job.output?.text.split(' ')[0], expectedAnswerHead(TEST_IMAGE, 'slow steps=25'));
    assert.equal(job.output?.completion_tokens, 25);

    await waitFor('succeeded webhook', async () => receiver.forJob(job.id).some((d) => d.type === 'job.succeeded'));
    await sleep(1000); // room for any duplicate to arrive
    const succeededIds = new Set(
      receiver
        .forJob(job.id)
        .filter((d) => d.type === 'job.succeeded')
        .map((d) => d.id),
    );
    assert.deepEqual([...succeededIds], [webhookIdFor(job, 'job.succeeded')]);
    const startedIds = new Set(
      receiver
        .forJob(job.id)
        .filter((d) => d.type === 'job.started')
        .map((d) => d.id),
    );
    assert.deepEqual([...startedIds].sort(), [`msg_${job.id}_started_a1`, `msg_${job.id}_started_a2`]);

    const usage = await aws.store.list(keys.kindPrefix('usage'));
    assert.equal(usage.items.filter((i) => i.key.endsWith(`/${job.id}.json`)).length, 1, 'one usage record');
    const events = await aws.store.list(keys.eventsPrefix(TENANT));
    let terminalEvents = 0;
    for (const item of events.items) {
      const e = await getJson(aws.store, item.key, (v) => JobEventSchema.parse(v));
      if (e?.value.job_id === job.id && e.value.type === 'job.succeeded') terminalEvents++;
    }
    assert.equal(terminalEvents, 1);
    assert.equal(await terminate(second), 0);
  });

  test('SIGTERM drain: an in-flight job finishes within the grace period and the process exits 0', async () => {
    const w = start({ SHUTDOWN_GRACE_SECONDS: '15' });
    const seeded = await seedJob(aws, { prompt: 'drain steps=15' });
    await waitForStatus(aws, seeded.id, ['running'], 15_000);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.output());
    const job = await getJob(aws, seeded.id);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.output?.completion_tokens, 15);
  });

  test('SIGTERM drain past the grace period: the job is released (queued, message visible at once)', async () => {
    const w = start({ SHUTDOWN_GRACE_SECONDS: '0.5', JOB_VISIBILITY_TIMEOUT_SECONDS: '60' });
    const seeded = await seedJob(aws, { prompt: 'hang' });
    await waitForStatus(aws, seeded.id, ['running'], 15_000);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0, w.output());
    assert.ok(Date.now() - t0 < 8000, 'exited soon after the grace period');
    const job = await getJob(aws, seeded.id);
    assert.equal(job.status, 'queued');
    assert.equal(job.attempts, 1);
    const [msg] = await aws.jobQueue.receive({ waitSeconds: 2 });
    assert.ok(msg, 'released message is visible well before its 60 s lease would lapse');
    await aws.jobQueue.delete(msg.receiptHandle);
  });

  test('receiver down, worker restarted, receiver up: the webhook arrives later, same webhook-id', async () => {
    const late = await WebhookReceiver.start();
    const port = late.port;
    await late.stop();
    const seeded = await seedJob(aws, { webhookUrl: late.url, events: ['job.succeeded'] });
    const first = start();
    await waitFor(
      'a failed delivery attempt',
      async () => {
        const job = await getJob(aws, seeded.id);
        return job.webhook_attempts.some((a) => a.outcome === 'retrying') ? job : null;
      },
      15_000,
    );
    assert.equal(await terminate(first), 0);
    assert.equal(late.deliveries.length, 0);

    await late.listen(port);
    const second = start();
    try {
      await waitFor('late delivery', async () => late.forJob(seeded.id).length > 0, 15_000);
      const job = await waitFor(
        'delivery recorded',
        async () => {
          const j = await getJob(aws, seeded.id);
          return j.webhook_attempts.some((a) => a.outcome === 'delivered') ? j : null;
        },
        5000,
      );
      const delivered = job.webhook_attempts.find((a) => a.outcome === 'delivered');
      assert.ok((delivered?.attempt ?? 0) >= 2);
      assert.ok(job.webhook_attempts.every((a) => a.webhook_id === webhookIdFor(job, 'job.succeeded')));
      assert.equal(late.forJob(seeded.id)[0]?.id, webhookIdFor(job, 'job.succeeded'));
    } finally {
      await terminate(second);
      await late.stop();
    }
  });
});
