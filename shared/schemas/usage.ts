import { z } from 'zod';
import { JobIdSchema, JobStatusSchema, TenantIdSchema } from './job.ts';

/** One usage record per finished job; `GET /v1/usage` sums them per API key over a date range. */
export const UsageRecordSchema = z.object({
  job_id: JobIdSchema,
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
    images: z.number().int().nonnegative(),
    prompt_tokens: z.number().int().nonnegative(),
    image_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    gpu_ms: z.number().nonnegative(),
  })
  .meta({ id: 'UsageSummary' });
export type UsageSummary = z.infer<typeof UsageSummarySchema>;

/** Idempotency record: binds an Idempotency-Key (per API key) to one request fingerprint and one job. */
export const IdempotencyRecordSchema = z.object({
  key_hash: z.string(),
  request_fingerprint: z.string(),
  job_id: JobIdSchema,
  state: z.enum(['pending', 'complete']),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
});
export type IdempotencyRecord = z.infer<typeof IdempotencyRecordSchema>;
