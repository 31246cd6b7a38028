import type { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { mapLimit } from '../../shared/concurrency/map-limit.ts';
import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { JobQueue, ReceivedMessage } from '../../shared/ports/job-queue.ts';
import { type ObjectStore, PreconditionFailedError } from '../../shared/ports/object-store.ts';
import { BatchItemSchema, type BatchRecord, isBatchEnded, type StoredBatchItem } from '../../shared/schemas/batch.ts';
import { JobIdSchema, type JobRecord, type PendingInput } from '../../shared/schemas/job.ts';
import { generationParamsOf } from '../../shared/schemas/job-create.ts';
import { type BatchIntakeMessage, encodeJobMessage } from '../../shared/schemas/queue-message.ts';
import { keys } from '../../shared/storage/keys.ts';
import type { Logger } from '../ops/logger.ts';
import { startHeartbeat } from './heartbeat.ts';

export interface BatchIntakeDeps {
  store: ObjectStore;
  repo: JobRepository;
  batches: BatchRepository;
  /** Where item messages go (the batch queue, which also carried the intake message). */
  batchQueue: JobQueue;
  /** Items turned into jobs per step; the batch record saves progress after each step. */
  chunk: number;
  visibilityTimeoutSeconds: number;
  publishEnd: (batch: BatchRecord, recovery: boolean) => Promise<void>;
  logger: Logger;
}

const StoredItemSchema = BatchItemSchema.extend({ job_id: JobIdSchema });
const DATA_URL = /^data:[^,]*?;base64,/i;
const PARALLEL_WRITES = 16;

/**
 * Turns a batch's stored requests into jobs: for each item, its job record (a `data:` URL's bytes stored first) and
 * a message on the batch queue. Resumable: progress is saved on the batch record after every chunk, and a record
 * that already exists (a resumed chunk) is not written again; at worst a resumed chunk sends some messages twice,
 * which the job runner drops as duplicates. Items the batch's cancel reached first get canceled job records and no
 * message. A batch that has ended without its end published (the cancel ended it) is published here.
 */
export class BatchIntake {
  constructor(private readonly deps: BatchIntakeDeps) {}

  /** `stop`: the worker is shutting down; the intake stops after its current chunk and hands its message back. */
  async handle(ref: BatchIntakeMessage, message: ReceivedMessage, stop?: AbortSignal): Promise<void> {
    const { batches, batchQueue, logger } = this.deps;
    const log = logger.child({ batch_id: ref.batch_id, tenant: ref.tenant });
    const heartbeat = startHeartbeat(batchQueue, message.receiptHandle, this.deps.visibilityTimeoutSeconds, log);
    try {
      const found = await batches.get(ref.tenant, ref.batch_id);
      if (!found) {
        log.warn('batch record not found; dropping its intake message');
      } else {
        let batch = found.batch;
        if (!batch.intake.done) batch = await this.intake(batch, log, stop);
        if (!batch.intake.done) {
          await batchQueue.changeVisibility(message.receiptHandle, 0).catch(() => {});
          log.info({ next: batch.intake.next }, 'batch intake paused for shutdown');
          return;
        }
        if (isBatchEnded(batch.status) && !batch.ended_notices_at) await this.deps.publishEnd(batch, false);
      }
      await batchQueue.delete(message.receiptHandle).catch(() => {});
    } catch (err) {
      // Storage or queue trouble: the message returns after its visibility timeout and the intake resumes.
      log.warn({ err }, 'batch intake failed; it resumes on redelivery');
    } finally {
      heartbeat.stop();
    }
  }

  private async intake(batch: BatchRecord, log: Logger, stop?: AbortSignal): Promise<BatchRecord> {
    const { store, batches } = this.deps;
    const file = await store.get(keys.batchItems(batch.tenant, batch.id));
    if (!file) throw new Error(`batch ${batch.id} has no stored requests`);
    const lines = new TextDecoder()
      .decode(file.body)
      .split('\n')
      .filter((l) => l.trim() !== '');
    const total = batch.item_states.length;
    if (lines.length !== total) throw new Error(`batch ${batch.id}: ${lines.length} stored requests, ${total} items`);
    let current = batch;
    for (let start = current.intake.next; start < total; start += this.deps.chunk) {
      if (stop?.aborted) return current;
      const end = Math.min(total, start + this.deps.chunk);
      const indices = Array.from({ length: end - start }, (_, k) => start + k);
      const states = current.item_states;
      await mapLimit(indices, PARALLEL_WRITES, async (i) => {
        const item = StoredItemSchema.parse(JSON.parse(lines[i]!)) as StoredBatchItem;
        await this.createItem(current, item, i, states[i] === 'c');
      });
      const saved = await batches.update(batch.tenant, batch.id, (b) => {
        if (b.intake.next >= end) return false;
        b.intake = { next: end, done: end >= total };
        return true;
      });
      if (!saved) throw new Error(`batch ${batch.id} disappeared during intake`);
      current = saved.batch;
    }
    if (total === 0 || !current.intake.done) {
      const saved = await batches.update(batch.tenant, batch.id, (b) => {
        if (b.intake.done) return false;
        b.intake = { next: total, done: true };
        return true;
      });
      if (saved) current = saved.batch;
    }
    log.info({ items: total }, 'batch intake done');
    return current;
  }

  private async createItem(batch: BatchRecord, item: StoredBatchItem, index: number, canceled: boolean) {
    const { store, repo, batchQueue } = this.deps;
    const now = new Date().toISOString();
    const jobId = item.job_id;
    let pending: PendingInput;
    const limits = batch.limits;
    if (DATA_URL.test(item.image_url.slice(0, 256))) {
      const key = keys.uploadedInput(batch.tenant, jobId);
      if (!canceled && !(await store.head(key))) {
        const payload = item.image_url.slice(item.image_url.indexOf(',') + 1).replace(/\s+/g, '');
        await store.put(key, new Uint8Array(Buffer.from(payload, 'base64')), {
          contentType: 'application/octet-stream',
        });
      }
      pending = { source: 'data_url', key, limits };
    } else pending = { source: 'url', key: keys.uploadedInput(batch.tenant, jobId), url: item.image_url, limits };
    const job: JobRecord = {
      object: 'job',
      id: jobId,
      tenant: batch.tenant,
      api_key_id: batch.api_key_id,
      status: canceled ? 'canceled' : 'queued',
      created_at: batch.created_at,
      updated_at: now,
      ...(canceled ? { completed_at: batch.cancel_requested_at ?? now } : {}),
      expires_at: batch.expires_at,
      prompt: item.prompt,
      params: generationParamsOf(item),
      pending_input: pending,
      batch_id: batch.id,
      custom_id: item.custom_id,
      batch_index: index,
      conversation: { root_id: jobId, history: [] },
      webhook_attempts: [],
      attempts: 0,
      ...(item.metadata ? { metadata: item.metadata } : {}),
    };
    let status = job.status;
    try {
      await repo.create(job);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      status = (await repo.get(batch.tenant, jobId))?.job.status ?? status;
    }
    if (status === 'queued') await batchQueue.send(encodeJobMessage(jobId, batch.tenant));
  }
}
