import type { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { batchEventId, itemJobIds, newBatchId } from '../../shared/ids.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import { PreconditionFailedError, putJson } from '../../shared/ports/object-store.ts';
import { type BatchIndex, type BatchRecord, isBatchEnded } from '../../shared/schemas/batch.ts';
import { type JobEvent, JobEventSchema } from '../../shared/schemas/events.ts';
import { encodeBatchIntakeMessage } from '../../shared/schemas/queue-message.ts';
import { keys } from '../../shared/storage/keys.ts';
import type { Principal } from '../http/auth.ts';
import { fingerprintOf } from '../jobs/canonical.ts';
import { type Claim, type IdempotencyStore, idempotencyKeyHash } from '../jobs/idempotency.ts';
import { type EdgeLogger, errorSummary } from '../logger.ts';
import type { EdgeDeps } from '../ports.ts';
import type { CreateBatchRequest } from './parse-batch.ts';

export interface CreateBatchContext {
  deps: EdgeDeps;
  batchQueue: JobQueue;
  batches: BatchRepository;
  idempotency: IdempotencyStore;
  log: EdgeLogger;
  now: () => Date;
}

export interface CreateBatchResult {
  batch: BatchRecord;
  replayed: boolean;
}

/** Batch keys live in their own namespace: the same Idempotency-Key on a job and on a batch never collide. */
export function batchIdempotencyKeyHash(apiKeyId: string, key: string): Promise<string> {
  return idempotencyKeyHash(apiKeyId, `batch\n${key}`);
}

/**
 * Creates a batch in the order items file → index file → batch record (`queued`) → idempotency record completion →
 * intake message → `batch.queued` event, so every prefix is either invisible to clients or completed by a retry with
 * the same key (the event doubles as the "intake message was sent" marker).
 */
export async function createBatch(
  ctx: CreateBatchContext,
  principal: Principal,
  request: CreateBatchRequest,
  idempotencyKey: string | null,
): Promise<CreateBatchResult> {
  const { tenant } = principal;
  if (request.webhook) await ctx.deps.checkWebhookUrl?.(request.webhook.url);
  if (!idempotencyKey) {
    const batch = await writeBatch(ctx, principal, request, newBatchId(ctx.now().getTime()), null);
    return { batch, replayed: false };
  }
  const keyHash = await batchIdempotencyKeyHash(principal.keyId, idempotencyKey);
  const fingerprint = await fingerprintOf(await request.fingerprintInput());
  let claim = await ctx.idempotency.claim(tenant, keyHash, fingerprint, newBatchId(ctx.now().getTime()), ctx.now());
  if (claim.kind === 'complete') {
    const existing = await ctx.batches.get(tenant, claim.record.job_id);
    if (existing) {
      const { batch } = existing;
      if (!isBatchEnded(batch.status) && !(await ctx.deps.store.head(queuedEventKey(batch)))) await enqueue(ctx, batch);
      return { batch, replayed: true };
    }
    claim = await ctx.idempotency.reclaim(tenant, claim, ctx.now());
  }
  if (claim.kind === 'resume') {
    const existing = await ctx.batches.get(tenant, claim.record.job_id);
    if (existing) {
      await finishCreate(ctx, existing.batch, { claim, keyHash });
      return { batch: existing.batch, replayed: true };
    }
  }
  const batch = await writeBatch(ctx, principal, request, claim.record.job_id, { claim, keyHash, idempotencyKey });
  return { batch, replayed: false };
}

interface IdempotencyStep {
  claim: Claim;
  keyHash: string;
  idempotencyKey?: string;
}

async function writeBatch(
  ctx: CreateBatchContext,
  principal: Principal,
  request: CreateBatchRequest,
  batchId: string,
  idem: IdempotencyStep | null,
): Promise<BatchRecord> {
  const { tenant } = principal;
  const { config } = ctx.deps;
  const filesWritten: string[] = [];
  let batch: BatchRecord;
  try {
    const index: BatchIndex = [];
    const lines: string[] = [];
    const jobIds = await itemJobIds(batchId, request.items.length);
    for (let i = 0; i < request.items.length; i++) {
      const item = request.items[i]!;
      const jobId = jobIds[i]!;
      index.push([item.custom_id, jobId]);
      lines.push(JSON.stringify({ ...item, job_id: jobId }));
    }
    const itemsKey = keys.batchItems(tenant, batchId);
    filesWritten.push(itemsKey);
    await ctx.deps.store.put(itemsKey, `${lines.join('\n')}\n`, { contentType: 'application/x-ndjson' });
    const indexKey = keys.batchIndex(tenant, batchId);
    filesWritten.push(indexKey);
    await putJson(ctx.deps.store, indexKey, index);
    const now = ctx.now();
    batch = {
      object: 'batch',
      id: batchId,
      tenant,
      api_key_id: principal.keyId,
      status: 'queued',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      expires_at: new Date(now.getTime() + config.BATCH_COMPLETION_WINDOW_SECONDS * 1000).toISOString(),
      item_states: 'q'.repeat(request.items.length),
      intake: { next: 0, done: false },
      limits: { max_bytes: config.MAX_UPLOAD_BYTES, max_pixels: config.MAX_PIXELS, max_side: config.MAX_SIDE },
      ...(request.webhook ? { webhook: request.webhook } : {}),
      webhook_attempts: [],
      ...(request.metadata ? { metadata: request.metadata } : {}),
      ...(idem?.idempotencyKey ? { idempotency_key: idem.idempotencyKey } : {}),
    };
    try {
      batch = (await ctx.batches.create(batch)).batch;
    } catch (err) {
      // Only a takeover of a half-done create can meet an existing record: that record is the batch.
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await ctx.batches.get(tenant, batchId);
      if (!existing) throw err;
      batch = existing.batch;
    }
  } catch (err) {
    await compensate(ctx, tenant, { batchId: null, files: filesWritten, idem }, err);
    throw err;
  }
  await finishCreate(ctx, batch, idem, true);
  return batch;
}

/** Completes the idempotency record, then sends the intake message; undoes the visible writes when either fails. */
async function finishCreate(
  ctx: CreateBatchContext,
  batch: BatchRecord,
  idem: IdempotencyStep | null,
  ownsFiles = false,
): Promise<void> {
  try {
    if (idem) {
      try {
        await ctx.idempotency.complete(batch.tenant, idem.claim);
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Our lock expired and another retry took the key over; it will complete this same batch.
        throw new ProblemError('idempotency_in_progress', 'A request with this Idempotency-Key is being processed.');
      }
    }
    await enqueue(ctx, batch);
  } catch (err) {
    if (!(err instanceof ProblemError && err.code === 'idempotency_in_progress')) {
      const files = ownsFiles ? [keys.batchItems(batch.tenant, batch.id), keys.batchIndex(batch.tenant, batch.id)] : [];
      await compensate(ctx, batch.tenant, { batchId: batch.id, files, idem }, err);
    }
    throw err;
  }
}

export function queuedEventKey(batch: BatchRecord): string {
  return keys.event(batch.tenant, batchEventId(batch.id, Date.parse(batch.created_at), 'queued'));
}

async function enqueue(ctx: CreateBatchContext, batch: BatchRecord): Promise<void> {
  await ctx.batchQueue.send(encodeBatchIntakeMessage(batch.id, batch.tenant));
  const event: JobEvent = JobEventSchema.parse({
    id: batchEventId(batch.id, Date.parse(batch.created_at), 'queued'),
    type: 'batch.queued',
    batch_id: batch.id,
    status: 'queued',
    created_at: batch.created_at,
  });
  try {
    await putJson(ctx.deps.store, queuedEventKey(batch), event, { ifNoneMatch: '*' });
  } catch (err) {
    if (err instanceof PreconditionFailedError) return;
    // The batch is live; a missing feed entry is not worth failing the request over.
    ctx.log.warn({ err: errorSummary(err), batch_id: batch.id }, 'could not append batch.queued event');
  }
}

/**
 * Best-effort undo after a failed create, newest write first: batch record, idempotency record, then the files.
 * Stops at the first failing step, so what is left is always a prefix a retry with the same key completes.
 */
async function compensate(
  ctx: CreateBatchContext,
  tenant: string,
  written: { batchId: string | null; files: string[]; idem: IdempotencyStep | null },
  cause: unknown,
): Promise<void> {
  const steps: [string, () => Promise<void>][] = [];
  if (written.batchId) {
    const id = written.batchId;
    steps.push(['batch', () => ctx.deps.store.delete(keys.batch(tenant, id))]);
  }
  if (written.idem) {
    const hash = written.idem.keyHash;
    steps.push(['idempotency', () => ctx.idempotency.release(tenant, hash)]);
  }
  for (const key of [...written.files].reverse()) steps.push(['file', () => ctx.deps.store.delete(key)]);
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      ctx.log.warn({ err: errorSummary(err), what, cause: errorSummary(cause) }, 'batch create rollback step failed');
      return;
    }
  }
}
