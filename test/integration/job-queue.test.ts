import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newJobId } from '../../shared/ids.ts';
import { QueueUnavailableError } from '../../shared/ports/job-queue.ts';
import { decodeJobMessage, encodeJobMessage } from '../../shared/schemas/queue-message.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

describe('SqsJobQueue against a local SQS-compatible server', () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws({ maxReceiveCount: 2, visibilityTimeoutSeconds: 30 });
  });
  after(async () => aws.close());

  test('long poll waits for a message sent while it waits', async () => {
    const started = Date.now();
    const receiving = aws.jobQueue.receive({ waitSeconds: 5, maxMessages: 10 });
    await sleep(300);
    const body = encodeJobMessage(newJobId(), 'tenant-a');
    await aws.jobQueue.send(body);
    const msgs = await receiving;
    assert.equal(msgs.length, 1);
    assert.ok(Date.now() - started >= 250, 'the receive held the connection open');
    assert.ok(Date.now() - started < 4000, 'and returned when the message arrived');
    assert.equal(msgs[0]!.body, body);
    assert.equal(decodeJobMessage(msgs[0]!.body).tenant, 'tenant-a');
    assert.equal(msgs[0]!.receiveCount, 1);
    await aws.jobQueue.delete(msgs[0]!.receiptHandle);
  });

  test('an empty long poll returns nothing after the wait', async () => {
    const msgs = await aws.jobQueue.receive({ waitSeconds: 1 });
    assert.deepEqual(msgs, []);
  });

  test('redelivers after the visibility timeout, counting receives', async () => {
    await aws.jobQueue.send('redeliver-me');
    const [first] = await aws.jobQueue.receive({ waitSeconds: 1, visibilityTimeoutSeconds: 1 });
    assert.equal(first?.body, 'redeliver-me');
    assert.deepEqual(await aws.jobQueue.receive({ waitSeconds: 0 }), [], 'invisible while leased');
    await sleep(1300);
    const [second] = await aws.jobQueue.receive({ waitSeconds: 2, visibilityTimeoutSeconds: 30 });
    assert.equal(second?.messageId, first?.messageId);
    assert.equal(second?.receiveCount, 2);
    await aws.jobQueue.delete(second!.receiptHandle);
  });

  test('ChangeMessageVisibility extends a lease past its original timeout', async () => {
    await aws.jobQueue.send('extend-me');
    const [msg] = await aws.jobQueue.receive({ waitSeconds: 1, visibilityTimeoutSeconds: 1 });
    assert.ok(msg);
    await aws.jobQueue.changeVisibility(msg.receiptHandle, 5);
    await sleep(1500);
    assert.deepEqual(await aws.jobQueue.receive({ waitSeconds: 0 }), [], 'still leased after the first timeout');
    const depth = await aws.jobQueue.depth();
    assert.equal(depth.inFlight, 1);
    await aws.jobQueue.changeVisibility(msg.receiptHandle, 0);
    const [again] = await aws.jobQueue.receive({ waitSeconds: 2 });
    assert.equal(again?.messageId, msg.messageId, 'visibility 0 releases it at once');
    assert.equal(again?.receiveCount, 2, 'visibility changes are not receives');
    await aws.jobQueue.delete(again!.receiptHandle);
  });

  test('moves a message to the DLQ after maxReceiveCount receives', async () => {
    await aws.jobQueue.send('poison');
    for (let i = 0; i < 2; i++) {
      const [m] = await aws.jobQueue.receive({ waitSeconds: 2, visibilityTimeoutSeconds: 1 });
      assert.equal(m?.body, 'poison');
      await sleep(1200);
    }
    assert.deepEqual(await aws.jobQueue.receive({ waitSeconds: 1 }), []);
    const [dead] = await aws.jobDlq.receive({ waitSeconds: 2 });
    assert.equal(dead?.body, 'poison');
  });

  test('delayed sends stay hidden until their delay passes', async () => {
    await aws.webhookQueue.send('later', { delaySeconds: 1 });
    assert.deepEqual(await aws.webhookQueue.receive({ waitSeconds: 0 }), []);
    const [m] = await aws.webhookQueue.receive({ waitSeconds: 3 });
    assert.equal(m?.body, 'later');
  });

  test('a stopped server surfaces as QueueUnavailableError and keeps its messages', async () => {
    await aws.jobQueue.send('survives-outage');
    await aws.sqs.stop();
    try {
      await assert.rejects(aws.jobQueue.send('x'), QueueUnavailableError);
    } finally {
      await aws.sqs.start();
    }
    const [m] = await aws.jobQueue.receive({ waitSeconds: 2 });
    assert.equal(m?.body, 'survives-outage');
  });
});
