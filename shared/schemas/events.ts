import { z } from 'zod';
import { BATCH_STATUSES } from './batch.ts';
import { BatchIdSchema, JOB_STATUSES, JobIdSchema } from './job.ts';

export const JOB_EVENT_TYPES = [
  'job.queued',
  'job.started',
  'job.succeeded',
  'job.failed',
  'job.canceled',
  'batch.queued',
  'batch.completed',
  'batch.canceled',
] as const;
export const JobEventTypeSchema = z.enum(JOB_EVENT_TYPES).meta({ id: 'JobEventType' });
export type JobEventType = z.infer<typeof JobEventTypeSchema>;

/**
 * One entry of the per-tenant event feed (`GET /v1/events`); written once per state change. `job.*` events name a
 * job (and its batch, for batch items); `batch.*` events name a batch.
 */
export const JobEventSchema = z
  .object({
    id: z.string().describe('time-ordered; also the feed cursor'),
    type: JobEventTypeSchema,
    job_id: JobIdSchema.optional(),
    batch_id: BatchIdSchema.optional(),
    status: z.enum([...new Set([...JOB_STATUSES, ...BATCH_STATUSES])] as [string, ...string[]]),
    created_at: z.iso.datetime(),
    attempt: z.number().int().nonnegative().optional(),
  })
  .meta({ id: 'JobEvent' });
export type JobEvent = z.infer<typeof JobEventSchema>;

/** Standard Webhooks payload shape: `{type, timestamp, data}`; `data` is the public job object. */
export const WebhookPayloadSchema = z
  .object({
    type: z.string(),
    timestamp: z.iso.datetime(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'WebhookPayload' });
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;
