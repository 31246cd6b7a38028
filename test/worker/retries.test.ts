import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeJobMessage, JobRepository, webhookDeliveryFor } from '../../shared/index.ts';
import { getJob, seedJob, TENANT, waitFor, waitForStatus } from './support/harness.ts';
import { inProcessWorkerSuite } from './support/in-process-suite.ts';

const MAX_RECEIVES = 3;

describe('gpu worker retries, dead letters and webhook retries (real S3/SQS on loopback, in-process worker)', () => {
  const s = inProcessWorkerSuite(MAX_RECEIVES);

  test('repeated crashes: retried with backoff, then failed too_many_attempts and dead-lettered', async () => {
    await s.useWorker();
    const seeded = await seedJob(s.aws, { prompt: 'crash', webhookUrl: s.receiver.url, events: ['job.failed'] });
    const job = await waitForStatus(s.aws, seeded.id, ['failed', 'succeeded'], 15_000);
    assert.equal(job.error?.code, 'too_many_attempts');
    assert.match(job.error?.message ?? '', new RegExp(`failed on ${MAX_RECEIVES} deliveries; last: model_crash`));
    assert.ok(job.attempts >= 2 && job.attempts <= MAX_RECEIVES, `attempts ${job.attempts}`);
    const expected = encodeJobMessage(seeded.id, TENANT);
    const dead = await waitFor(
      'dead letter',
      async () => (await s.aws.jobDlq.receive({ waitSeconds: 1, maxMessages: 10 })).find((m) => m.body === expected),
      8000,
    );
    assert.equal(dead.body, encodeJobMessage(seeded.id, TENANT));
    await s.aws.jobDlq.delete(dead.receiptHandle);
    await waitFor('failed webhook', async () => s.receiver.forJob(job.id).some((d) => d.type === 'job.failed'));
  });

  test('410 from the receiver stops retries; private targets are refused without ALLOW_PRIVATE_TARGETS', async () => {
    await s.useWorker();
    s.receiver.respond = (d) => (d.type === 'job.succeeded' ? 410 : 204);
    try {
      const gone = await seedJob(s.aws, { webhookUrl: s.receiver.url, events: ['job.succeeded'] });
      const attempts = await waitFor('410 recorded', async () => {
        const j = await getJob(s.aws, gone.id);
        return j.webhook_attempts.length > 0 ? j.webhook_attempts : null;
      });
      assert.equal(attempts[0]?.outcome, 'stopped');
      assert.equal(attempts[0]?.status_code, 410);
      await sleep(2500); // longer than the first retry delay
      assert.equal(s.receiver.forJob(gone.id).length, 1);
      assert.equal((await getJob(s.aws, gone.id)).webhook_attempts.length, 1);
    } finally {
      s.receiver.respond = () => 204;
    }

    await s.useWorker({ ALLOW_PRIVATE_TARGETS: '' });
    const priv = await seedJob(s.aws, { webhookUrl: s.receiver.url, events: ['job.succeeded'] });
    const attempts = await waitFor('refusal recorded', async () => {
      const j = await getJob(s.aws, priv.id);
      return j.webhook_attempts.length > 0 ? j.webhook_attempts : null;
    });
    assert.equal(attempts[0]?.outcome, 'refused');
    assert.equal(s.receiver.forJob(priv.id).length, 0);
  });

  test('429 with Retry-After is retried after the given delay, then delivered', async () => {
    await s.useWorker();
    let first = true;
    s.receiver.respond = () => {
      if (!first) return 204;
      first = false;
      return { status: 429, headers: { 'retry-after': '1' } };
    };
    try {
      const seeded = await seedJob(s.aws, { webhookUrl: s.receiver.url, events: ['job.succeeded'] });
      const job = await waitFor('delivered after a 429', async () => {
        const j = await getJob(s.aws, seeded.id);
        return j.webhook_attempts.some((a) => a.outcome === 'delivered') ? j : null;
      });
      assert.deepEqual(
        job.webhook_attempts.map((a) => [a.attempt, a.status_code, a.outcome]),
        [
          [1, 429, 'retrying'],
          [2, 204, 'delivered'],
        ],
      );
      const [a1, a2] = job.webhook_attempts;
      assert.ok(Date.parse(a2!.at) - Date.parse(a1!.at) >= 900, 'waited about the Retry-After second');
      assert.equal(new Set(s.receiver.forJob(seeded.id).map((d) => d.id)).size, 1, 'same webhook-id on the retry');
    } finally {
      s.receiver.respond = () => 204;
    }
  });

  test('a retry due beyond the 15-minute SQS delay limit is re-enqueued in hops, not sent early', async () => {
    await s.useWorker();
    const seeded = await seedJob(s.aws, { prompt: 'hop' });
    await waitForStatus(s.aws, seeded.id, ['succeeded']);
    const job = await getJob(s.aws, seeded.id);
    const delivery = webhookDeliveryFor(
      { ...job, webhook: { url: s.receiver.url, events: ['job.succeeded'] } },
      'job.succeeded',
    );
    assert.ok(delivery);
    const notBefore = new Date(Date.now() + 3600_000).toISOString();
    await s.aws.webhookQueue.send(JSON.stringify({ ...delivery, attempt: 2, not_before: notBefore }));
    await waitFor('hop re-enqueued', async () => {
      const d = await s.aws.webhookQueue.depth();
      return d.delayed === 1 && d.visible === 0 && d.inFlight === 0;
    });
    assert.equal(s.receiver.forJob(seeded.id).length, 0);
    assert.equal((await getJob(s.aws, seeded.id)).webhook_attempts.length, 0);
  });

  test('storage outage while finishing: the job is retried after S3 returns and ends with one result', async () => {
    await s.useWorker({}, 100);
    const seeded = await seedJob(s.aws, { prompt: 'outage steps=8' });
    await waitForStatus(s.aws, seeded.id, ['running']);
    await s.aws.s3.stop();
    try {
      await sleep(1500); // the run ends while S3 is down: its writes fail and the message is put back
    } finally {
      await s.aws.s3.start();
    }
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed'], 15_000);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempts, 2);
    assert.equal(job.output?.completion_tokens, 8);
    const usage = await s.aws.store.list(`usage/${TENANT}/`);
    assert.equal(usage.items.filter((i) => i.key.endsWith(`/${job.id}.json`)).length, 1);
  });

  test('DLQ sweeper: a job whose message was dead-lettered while running is marked failed', async () => {
    await s.stopWorker();
    const seeded = await seedJob(s.aws, { prompt: 'orphan' });
    // Take the message away as a worker that then died would have, and let it land in the DLQ.
    const [msg] = await s.aws.jobQueue.receive({ waitSeconds: 2 });
    assert.ok(msg);
    await s.aws.jobQueue.delete(msg.receiptHandle);
    await new JobRepository(s.aws.store).update(TENANT, seeded.id, (j) => ({
      ...j,
      status: 'running',
      attempts: 3,
      started_at: new Date().toISOString(),
    }));
    await s.aws.jobDlq.send(encodeJobMessage(seeded.id, TENANT));
    await s.useWorker({ JOB_DLQ_URL: s.aws.queues.jobDlqUrl });
    const job = await waitForStatus(s.aws, seeded.id, ['failed'], 8000);
    assert.equal(job.error?.code, 'too_many_attempts');
    assert.equal((await s.aws.jobDlq.depth()).inFlight, 1, 'the dead letter stays in the DLQ for operators');
  });
});
