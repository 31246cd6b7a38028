import { z } from 'zod';
import { BatchIdSchema, JobIdSchema, JobStatusSchema, TenantIdSchema } from './job.ts';

/** One usage record per finished job; `GET /v1/usage` sums them per API key over a date range. */
export const UsageRecordSchema = z.object({
  job_id: JobIdSchema,
  /** Set when the job was a batch item. */
  batch_id: BatchIdSchema.optional(),
  tenant: TenantIdSchema,
  api_key_id: z.string(),
  status: JobStatusSchema,
  completed_at: z.iso.datetime(),
  prompt_tokens: z.number().int().nonnegative(),
  image_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  images: z.number().int().nonnegative(),
  gpu_ms: z.number().nonnegative(),
  queue_ms: z.number().nonnegative(),
});
export type UsageRecord = z.infer<typeof UsageRecordSchema>;

export const UsageSummarySchema = z
  .object({
    api_key_id: z.string(),
    from: z.iso.date(),
    to: z.iso.date(),
    jobs: z.number().int().nonnegative(),
    batch_jobs: z.number().int().nonnegative().describe('how many of `jobs` were batch items'),
    images: z.number().int().nonnegative(),
    prompt_tokens: z.number().int().nonnegative(),
    image_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    gpu_ms: z.number().nonnegative(),
  })
  .meta({ id: 'UsageSummary' });
export type UsageSummary = z.infer<typeof UsageSummarySchema>;

/** Idempotency record: binds an Idempotency-Key (per API key) to one request fingerprint and one job or batch. */
export const IdempotencyRecordSchema = z.object({
  key_hash: z.string(),
  request_fingerprint: z.string(),
  /** The job the key created, or the batch (`POST /v1/batches` keys). */
  job_id: z.union([JobIdSchema, BatchIdSchema]),
  state: z.enum(['pending', 'complete']),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
});
export type IdempotencyRecord = z.infer<typeof IdempotencyRecordSchema>;
