import type { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { collectResults } from '../../shared/batches/results.ts';
import { batchEventId } from '../../shared/ids.ts';
import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { type ObjectStore, PreconditionFailedError, putJson } from '../../shared/ports/object-store.ts';
import type { BatchRecord } from '../../shared/schemas/batch.ts';
import { JobEventSchema } from '../../shared/schemas/events.ts';
import { keys } from '../../shared/storage/keys.ts';
import { batchWebhookDeliveryFor } from '../../shared/webhooks/delivery.ts';
import type { Logger } from '../ops/logger.ts';
import type { QueuedDelivery } from '../webhooks/delivery-message.ts';

export interface BatchEndDeps {
  store: ObjectStore;
  repo: JobRepository;
  batches: BatchRepository;
  webhookQueue: JobQueue;
  /** Absolute base of the results link in the webhook; unset, the link is a path. */
  publicBaseUrl?: string | undefined;
  recoveryDelaySeconds: number;
  logger: Logger;
}

/**
 * Publishes the end of a batch, in the order results file → `batch.completed|canceled` event → webhook message →
 * `ended_notices_at` on the record. Each step can be repeated: the results are the same lines, the event id is
 * derived from the batch, and a recovery publication queues its webhook copy late, to be dropped when the original
 * was attempted (same webhook-id).
 */
export class BatchEndPublisher {
  constructor(private readonly deps: BatchEndDeps) {}

  async publish(batch: BatchRecord, recovery: boolean): Promise<void> {
    const { store, repo, batches, webhookQueue, logger } = this.deps;
    const { jsonl, lines } = await collectResults(store, repo, batch);
    await store.put(keys.batchResults(batch.tenant, batch.id), jsonl, { contentType: 'application/x-ndjson' });
    const type = batch.status === 'canceled' ? 'batch.canceled' : 'batch.completed';
    const completedAt = batch.completed_at ?? new Date().toISOString();
    const event = JobEventSchema.parse({
      id: batchEventId(batch.id, Date.parse(completedAt), 'ended'),
      type,
      batch_id: batch.id,
      status: batch.status,
      created_at: completedAt,
    });
    try {
      await putJson(store, keys.event(batch.tenant, event.id), event, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
    const resultsPath = `/v1/batches/${batch.id}/results`;
    const resultsUrl = this.deps.publicBaseUrl
      ? `${this.deps.publicBaseUrl.replace(/\/$/, '')}${resultsPath}`
      : resultsPath;
    const delivery = batchWebhookDeliveryFor(batch, type, resultsUrl);
    if (delivery && !batch.webhook_attempts.some((a) => a.webhook_id === delivery.webhook_id)) {
      if (recovery)
        await webhookQueue.send(JSON.stringify({ ...delivery, recovery: true } satisfies QueuedDelivery), {
          delaySeconds: this.deps.recoveryDelaySeconds,
        });
      else await webhookQueue.send(JSON.stringify(delivery));
    }
    await batches.update(batch.tenant, batch.id, (b) => {
      if (b.ended_notices_at) return false;
      b.ended_notices_at = new Date().toISOString();
      return true;
    });
    logger.info({ batch_id: batch.id, status: batch.status, results: lines, recovery }, 'batch ended');
  }
}
