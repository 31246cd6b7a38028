import { z } from 'zod';
import { JobIdSchema, JobStatusSchema } from './job.ts';

export const JOB_EVENT_TYPES = ['job.queued', 'job.started', 'job.succeeded', 'job.failed', 'job.canceled'] as const;
export const JobEventTypeSchema = z.enum(JOB_EVENT_TYPES).meta({ id: 'JobEventType' });
export type JobEventType = z.infer<typeof JobEventTypeSchema>;

/** One entry of the per-tenant event feed (`GET /v1/events`); written once per state change. */
export const JobEventSchema = z
  .object({
    id: z.string().describe('time-ordered; also the feed cursor'),
    type: JobEventTypeSchema,
    job_id: JobIdSchema,
    status: JobStatusSchema,
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
