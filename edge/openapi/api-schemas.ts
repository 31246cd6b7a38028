import { z } from 'zod';
import { PROBLEM_CODES, type ProblemCode } from '../../shared/errors/problem.ts';
import {
  BatchCountsSchema,
  BatchIdSchema,
  BatchStatusSchema,
  BatchWebhookSettingsSchema,
} from '../../shared/schemas/batch.ts';
import { JobEventSchema } from '../../shared/schemas/events.ts';
import { JobInputSchema, JobRecordSchema, MetadataSchema } from '../../shared/schemas/job.ts';
import { UsageSummarySchema } from '../../shared/schemas/usage.ts';

/** Response shapes of the edge API, built from the shared record schemas so the OpenAPI document cannot drift. */
export const PublicJobInputSchema = JobInputSchema.omit({ key: true, prepared_by: true }).meta({
  id: 'PublicJobInput',
});

export const JobLinksSchema = z
  .object({ get: z.string(), cancel: z.string(), events: z.string() })
  .meta({ id: 'JobLinks', description: 'Where to poll, cancel, and catch up on events.' });

export const JobViewSchema = JobRecordSchema.omit({
  api_key_id: true,
  tenant: true,
  input: true,
  run_message_id: true,
  pending_input: true,
  batch_index: true,
})
  .extend({
    input: PublicJobInputSchema.optional().describe(
      'what the model received; absent only while a batch item waits for its image to be fetched and prepared',
    ),
    urls: JobLinksSchema,
  })
  .meta({ id: 'Job', description: 'A job as the API shows it.' });

export const JobListSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(JobViewSchema),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().describe('pass as `after` to get the next page'),
  })
  .meta({ id: 'JobList' });

const nullableTime = z.iso.datetime().nullable();

export const BatchViewSchema = z
  .object({
    object: z.literal('batch'),
    id: BatchIdSchema,
    status: BatchStatusSchema,
    counts: BatchCountsSchema,
    created_at: z.iso.datetime(),
    started_at: nullableTime,
    completed_at: nullableTime.describe('when the last item ended (status completed or canceled)'),
    cancel_requested_at: nullableTime,
    expires_at: z.iso.datetime().describe('items not started by then end failed with queue_ttl_expired'),
    metadata: MetadataSchema.nullable(),
    webhook: BatchWebhookSettingsSchema.nullable(),
    urls: z
      .object({ self: z.string(), results: z.string(), cancel: z.string() })
      .meta({ id: 'BatchLinks', description: 'Where to poll, read results and cancel.' }),
  })
  .meta({ id: 'Batch', description: 'A batch as the API shows it: counts per item state, no per-item detail.' });

export const BatchListSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(BatchViewSchema),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().describe('pass as `after` to get the next page'),
  })
  .meta({ id: 'BatchList' });

export const EventListSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(JobEventSchema),
    has_more: z.boolean(),
    next_cursor: z.string().nullable().describe('pass as `after` next time; unchanged when no new events'),
  })
  .meta({ id: 'EventList' });

export const UsageReportSchema = z
  .object({ object: z.literal('usage'), from: z.iso.date(), to: z.iso.date(), data: z.array(UsageSummarySchema) })
  .meta({ id: 'UsageReport' });

export const WebhookSecretSchema = z
  .object({
    object: z.literal('webhook_secret'),
    api_key_id: z.string(),
    secret: z.string().describe('whsec_… Standard Webhooks secret that signs this key’s webhooks'),
  })
  .meta({ id: 'WebhookSecret' });

const problemCodes = Object.keys(PROBLEM_CODES) as [ProblemCode, ...ProblemCode[]];
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.enum(problemCodes),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details with a stable `code`.' });

export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ s3: z.enum(['ok', 'down']), sqs: z.enum(['ok', 'down']) }),
    queue: z.object({ visible: z.number(), in_flight: z.number(), delayed: z.number() }).optional(),
  })
  .meta({ id: 'Health' });
