/**
 * A large batch (300 items here, 1,000 with BATCH_KILL_ITEMS=1000) through the stack (real loopback S3/SQS, the edge as an HTTP server, two worker processes with a
 * fast scripted analyzer), with one worker killed (SIGKILL) half-way: its leased items, and the intake if it was
 * still running, come back after their visibility timeout. The batch still ends with one result line per item, each
 * custom_id once, counts equal to the lines, and one batch.completed webhook.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dataUrl, jpeg } from '../../edge/support/fixtures.ts';
import { CHAOS_API_KEY, type ChaosStack, startChaosStack } from './stack.ts';

/** 300 in the test suite; `BATCH_KILL_ITEMS=1000` for the full figure (docs/reliability.md). */
const ITEMS = Number(process.env.BATCH_KILL_ITEMS ?? 300);

interface BatchView {
  id: string;
  status: string;
  counts: { total: number; queued: number; running: number; succeeded: number; failed: number; canceled: number };
}

describe(`a ${ITEMS}-item batch survives a worker killed half-way`, () => {
  let stack: ChaosStack;
  const auth = { authorization: `Bearer ${CHAOS_API_KEY}` };

  before(async () => {
    stack = await startChaosStack({
      workers: 2,
      workerConcurrency: 4,
      stepMs: 5,
      visibilitySeconds: 3,
      maxReceiveCount: 5,
      webhookTimeoutSeconds: 5,
      webhookRecoveryDelaySeconds: 5,
      webhookLeaseMarginSeconds: 5,
      idempotencyLockSeconds: 5,
    });
  });
  after(async () => {
    await stack?.close();
  });

  const view = async (id: string, wait = 0): Promise<BatchView> => {
    const res = await fetch(`${stack.edge.url}/v1/batches/${id}`, {
      headers: { ...auth, ...(wait ? { prefer: `wait=${wait}` } : {}) },
    });
    return (await res.json()) as BatchView;
  };

  test('one result line per item, each custom_id once, counts equal to the lines, one batch.completed', async () => {
    const image = dataUrl(await jpeg(40, 30));
    const lines = Array.from({ length: ITEMS }, (_, i) =>
      JSON.stringify({
        custom_id: `receipt-${String(i).padStart(4, '0')}`,
        image_url: image,
        prompt: `Receipt ${i}: total?`,
      }),
    );
    const form = new FormData();
    form.set('requests', new Blob([`${lines.join('\n')}\n`], { type: 'application/x-ndjson' }), 'receipts.jsonl');
    form.set('webhook', stack.receiver.url);
    const t0 = Date.now();
    const created = await fetch(`${stack.edge.url}/v1/batches`, { method: 'POST', headers: auth, body: form });
    const batch = (await created.json()) as BatchView;
    assert.equal(created.status, 202, JSON.stringify(batch));

    // Half-way: kill one worker outright (no drain, no release).
    const deadline = Date.now() + Math.max(600_000, ITEMS * 1_500);
    let v = await view(batch.id);
    while (v.counts.succeeded < ITEMS / 2) {
      assert.ok(Date.now() < deadline, `stuck before half-way: ${JSON.stringify(v.counts)}`);
      await sleep(200);
      v = await view(batch.id);
    }
    const victim = stack.workers[0]!;
    await stack.killWorker(victim);
    console.log(`# killed ${victim.name} at ${JSON.stringify(v.counts)} after ${Date.now() - t0} ms`);

    while (v.status !== 'completed') {
      assert.ok(Date.now() < deadline, `batch did not complete: ${JSON.stringify(v.counts)}`);
      v = await view(batch.id, 5);
    }
    console.log(`# ${ITEMS} items completed in ${Date.now() - t0} ms`);
    const res = await fetch(`${stack.edge.url}/v1/batches/${batch.id}/results`, { headers: auth });
    assert.equal(res.headers.get('batch-results'), 'complete');
    const results = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { custom_id: string; status: string });
    assert.equal(results.length, ITEMS, 'one line per item');
    assert.equal(new Set(results.map((r) => r.custom_id)).size, ITEMS, 'each custom_id once');
    const byStatus = (s: string) => results.filter((r) => r.status === s).length;
    assert.deepEqual(
      { succeeded: v.counts.succeeded, failed: v.counts.failed, canceled: v.counts.canceled },
      { succeeded: byStatus('succeeded'), failed: byStatus('failed'), canceled: byStatus('canceled') },
      'counts equal the lines',
    );
    assert.equal(v.counts.succeeded, ITEMS, JSON.stringify(v.counts));

    // The end is published once, whoever finished the last items.
    const until = Date.now() + 60_000;
    while (!stack.receiver.deliveries.some((d) => d.type === 'batch.completed')) {
      assert.ok(Date.now() < until, 'no batch.completed webhook');
      await sleep(200);
    }
    await sleep(8_000); // longer than the recovery copy's delay: a second publication would have arrived
    const ends = stack.receiver.deliveries.filter((d) => d.type.startsWith('batch.'));
    assert.equal(new Set(ends.map((d) => d.id)).size, 1, `batch webhooks: ${ends.map((d) => d.id).join(', ')}`);
    assert.equal(stack.receiver.deliveries.length - ends.length, 0, 'no per-item webhooks');
    console.log(`# batch webhooks received: ${ends.length} (one id)`);
  });
});
