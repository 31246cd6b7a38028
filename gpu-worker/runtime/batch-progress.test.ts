/**
 * Batch counts under concurrency, on a real loopback S3 server: several "workers" (BatchProgress instances, each with
 * its own coalescing) start and end one batch's items at the same time. No change is lost, a repeated change counts
 * once, and exactly one of them ends the batch and publishes its end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { newBatchId, newJobId } from '../../shared/ids.ts';
import { type BatchRecord, countsOf } from '../../shared/schemas/batch.ts';
import type { JobRecord } from '../../shared/schemas/job.ts';
import { type LocalAws, startLocalAws } from '../../test/support/local-aws.ts';
import { createLogger } from '../ops/logger.ts';
import { BatchProgress } from './batch-progress.ts';

const TENANT = 'acme';

function batchOf(items: number): BatchRecord {
  const now = new Date().toISOString();
  return {
    object: 'batch',
    id: newBatchId(),
    tenant: TENANT,
    api_key_id: 'key_acme',
    status: 'queued',
    created_at: now,
    updated_at: now,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    item_states: 'q'.repeat(items),
    intake: { next: items, done: true },
    limits: { max_bytes: 1024, max_pixels: 1024, max_side: 64 },
    webhook_attempts: [],
  };
}

/** Just the fields BatchProgress reads from an item's job. */
function item(batch: BatchRecord, index: number, status: JobRecord['status']): JobRecord {
  return { id: newJobId(), tenant: TENANT, batch_id: batch.id, batch_index: index, status } as JobRecord;
}

describe('batch progress from several workers at once (real S3 on loopback)', () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws();
  });
  after(async () => {
    await aws.close();
  });

  test('every start and end counts once; one writer ends the batch and publishes it', async () => {
    const batches = new BatchRepository(aws.store);
    const items = 40;
    const batch = (await batches.create(batchOf(items))).batch;
    const published: { worker: number; recovery: boolean }[] = [];
    const workers = Array.from(
      { length: 4 },
      (_, w) =>
        new BatchProgress({
          batches,
          publishEnd: async (_b, recovery) => {
            published.push({ worker: w, recovery });
          },
          logger: createLogger('silent'),
        }),
    );
    // Each item is started and ended by one worker; a second worker repeats the end (a redelivered message).
    await Promise.all(
      Array.from({ length: items }, async (_, i) => {
        const w = workers[i % workers.length]!;
        assert.equal(await w.start(item(batch, i, 'queued')), 'run');
        const status = i % 5 === 0 ? 'failed' : 'succeeded';
        await w.end(item(batch, i, status));
        await workers[(i + 1) % workers.length]!.end(item(batch, i, status));
      }),
    );
    const final = (await batches.get(TENANT, batch.id))!.batch;
    assert.equal(final.status, 'completed');
    assert.deepEqual(countsOf(final.item_states), {
      total: items,
      queued: 0,
      running: 0,
      succeeded: 32,
      failed: 8,
      canceled: 0,
    });
    assert.ok(final.started_at && final.completed_at);
    assert.equal(published.filter((p) => !p.recovery).length, 1, JSON.stringify(published));
  });

  test('a cancel that reaches an item first keeps it from running; running items finish and count', async () => {
    const batches = new BatchRepository(aws.store);
    const batch = (await batches.create(batchOf(3))).batch;
    const progress = new BatchProgress({ batches, publishEnd: async () => {}, logger: createLogger('silent') });
    assert.equal(await progress.start(item(batch, 0, 'queued')), 'run');
    const { requestCancel } = await import('../../shared/batches/item-states.ts');
    await batches.update(TENANT, batch.id, (b) => requestCancel(b, new Date().toISOString()));
    assert.equal(await progress.start(item(batch, 1, 'queued')), 'canceled');
    await progress.end(item(batch, 0, 'succeeded'));
    const final = (await batches.get(TENANT, batch.id))!.batch;
    assert.equal(final.status, 'canceled');
    assert.deepEqual(countsOf(final.item_states), {
      total: 3,
      queued: 0,
      running: 0,
      succeeded: 1,
      failed: 0,
      canceled: 2,
    });
  });
});
