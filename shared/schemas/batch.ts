import { z } from 'zod';
import {
  BatchIdSchema,
  BatchWebhookEventTypeSchema,
  JobIdSchema,
  type JobStatus,
  MetadataSchema,
  TenantIdSchema,
  WebhookAttemptSchema,
} from './job.ts';
import { JobCreateFieldsSchema } from './job-create.ts';

export { BatchIdSchema };

export const BATCH_STATUSES = ['queued', 'running', 'completed', 'canceling', 'canceled'] as const;
export const BatchStatusSchema = z.enum(BATCH_STATUSES).meta({ id: 'BatchStatus' });
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

export function isBatchEnded(status: BatchStatus): boolean {
  return status === 'completed' || status === 'canceled';
}

/**
 * One character per item, in input order, in the batch record: `q` queued, `r` running, `s` succeeded, `f` failed,
 * `c` canceled. Counts are derived from it, so they can never drift from the items, and setting an item to the
 * state it already has changes nothing: a redelivered message cannot count twice.
 */
export type ItemState = 'q' | 'r' | 's' | 'f' | 'c';
export const ITEM_STATES_PATTERN = /^[qrsfc]*$/;

export function itemStateOfJob(status: JobStatus): ItemState {
  return ({ queued: 'q', running: 'r', succeeded: 's', failed: 'f', canceled: 'c' } as const)[status];
}

export function isItemEnded(state: string): boolean {
  return state === 's' || state === 'f' || state === 'c';
}

export const BatchCountsSchema = z
  .object({
    total: z.number().int().nonnegative(),
    queued: z.number().int().nonnegative(),
    running: z.number().int().nonnegative(),
    succeeded: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    canceled: z.number().int().nonnegative(),
  })
  .meta({ id: 'BatchCounts' });
export type BatchCounts = z.infer<typeof BatchCountsSchema>;

export function countsOf(states: string): BatchCounts {
  const counts = { total: states.length, queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  for (let i = 0; i < states.length; i++) {
    const c = states.charCodeAt(i);
    if (c === 113) counts.queued++;
    else if (c === 114) counts.running++;
    else if (c === 115) counts.succeeded++;
    else if (c === 102) counts.failed++;
    else counts.canceled++;
  }
  return counts;
}

export const CUSTOM_ID_MAX_CHARS = 64;

/**
 * One line of a batch's `requests` file: the fields of `POST /v1/jobs` without `webhook`/`webhook_events` (one
 * webhook per batch) and `parent` (follow-ups go through `POST /v1/jobs` with the item's job id), plus `custom_id`.
 * The image comes as `image_url`: https or a base64 `data:` URL.
 */
export const BatchItemSchema = JobCreateFieldsSchema.omit({ webhook: true, webhook_events: true, parent: true })
  .extend({
    custom_id: z
      .string()
      .min(1, 'custom_id must not be empty')
      .max(CUSTOM_ID_MAX_CHARS)
      .describe('your id for the item, unique within the batch; echoed on its result line and its job'),
    image_url: z.string().min(1).max(30_000_000).describe('https URL or base64 data: URL of the image'),
  })
  .strict()
  .meta({ id: 'BatchRequestLine' });
export type BatchItem = z.infer<typeof BatchItemSchema>;

/** A stored item: the validated line plus the id of the job it becomes. */
export type StoredBatchItem = BatchItem & { job_id: string };

export const BatchWebhookSettingsSchema = z
  .object({ url: z.url({ protocol: /^https?$/ }), events: z.array(BatchWebhookEventTypeSchema).min(1) })
  .meta({ id: 'BatchWebhookSettings' });

/** The stored batch record: the single source of truth for a batch, updated by compare-and-swap. */
export const BatchRecordSchema = z
  .object({
    object: z.literal('batch'),
    id: BatchIdSchema,
    tenant: TenantIdSchema,
    api_key_id: z.string(),
    status: BatchStatusSchema,
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    started_at: z.iso.datetime().optional(),
    completed_at: z.iso.datetime().optional(),
    cancel_requested_at: z.iso.datetime().optional(),
    expires_at: z.iso.datetime().describe('items not started by then end failed with queue_ttl_expired'),
    item_states: z.string().regex(ITEM_STATES_PATTERN),
    intake: z.object({
      next: z.number().int().nonnegative().describe('items before this index have their job records and messages'),
      done: z.boolean(),
    }),
    limits: z.object({
      max_bytes: z.number().int().positive(),
      max_pixels: z.number().int().positive(),
      max_side: z.number().int().positive(),
    }),
    webhook: BatchWebhookSettingsSchema.optional(),
    webhook_attempts: z.array(WebhookAttemptSchema).default([]),
    /** Set once the end of the batch is published (results file, event, webhook message). */
    ended_notices_at: z.iso.datetime().optional(),
    metadata: MetadataSchema.optional(),
    idempotency_key: z.string().optional(),
  })
  .meta({ id: 'BatchRecord' });
export type BatchRecord = z.infer<typeof BatchRecordSchema>;

export interface PublicBatch {
  object: 'batch';
  id: string;
  status: BatchStatus;
  counts: BatchCounts;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  cancel_requested_at: string | null;
  expires_at: string;
  metadata: Record<string, string> | null;
  webhook: { url: string; events: string[] } | null;
}

export function toPublicBatch(batch: BatchRecord): PublicBatch {
  return {
    object: 'batch',
    id: batch.id,
    status: batch.status,
    counts: countsOf(batch.item_states),
    created_at: batch.created_at,
    started_at: batch.started_at ?? null,
    completed_at: batch.completed_at ?? null,
    cancel_requested_at: batch.cancel_requested_at ?? null,
    expires_at: batch.expires_at,
    metadata: batch.metadata ?? null,
    webhook: batch.webhook ?? null,
  };
}

/** One line of `GET /v1/batches/{id}/results`. */
export const BatchResultLineSchema = z
  .object({
    custom_id: z.string(),
    job_id: JobIdSchema,
    status: z.enum(['succeeded', 'failed', 'canceled']),
    output: z.unknown().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    usage: z.unknown(),
  })
  .meta({ id: 'BatchResultLine' });
export type BatchResultLine = z.infer<typeof BatchResultLineSchema>;

/** `[custom_id, job_id]` per item, in input order. */
export const BatchIndexSchema = z.array(z.tuple([z.string(), JobIdSchema]));
export type BatchIndex = z.infer<typeof BatchIndexSchema>;
