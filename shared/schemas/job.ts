import { z } from 'zod';
import { BATCH_ID_PATTERN, JOB_ID_PATTERN, TENANT_ID_PATTERN } from '../ids.ts';
import { GenerationParamsSchema } from './generation-params.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES).meta({ id: 'JobStatus' });
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);
export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export const WEBHOOK_EVENT_TYPES = ['job.started', 'job.succeeded', 'job.failed', 'job.canceled'] as const;
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES).meta({ id: 'WebhookEventType' });
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

/** What a batch's `webhook_events` may name: one webhook when the batch ends, none per item. */
export const BATCH_WEBHOOK_EVENT_TYPES = ['batch.completed', 'batch.canceled'] as const;
export const BatchWebhookEventTypeSchema = z.enum(BATCH_WEBHOOK_EVENT_TYPES).meta({ id: 'BatchWebhookEventType' });
export type BatchWebhookEventType = z.infer<typeof BatchWebhookEventTypeSchema>;

/** Every event a webhook delivery can carry: a job's or a batch's. */
export const DeliveryEventTypeSchema = z.enum([...WEBHOOK_EVENT_TYPES, ...BATCH_WEBHOOK_EVENT_TYPES]);
export type DeliveryEventType = z.infer<typeof DeliveryEventTypeSchema>;

export const JobIdSchema = z.string().regex(JOB_ID_PATTERN, 'not a job id');
export const BatchIdSchema = z.string().regex(BATCH_ID_PATTERN, 'not a batch id');
export const TenantIdSchema = z.string().regex(TENANT_ID_PATTERN, 'not a tenant id');
const IsoTime = z.iso.datetime();

export const MAX_PROMPT_CHARS = 4000;
export const MAX_METADATA_BYTES = 4096;

export const MetadataSchema = z
  .record(z.string().max(64), z.string().max(1024))
  .refine((m) => new TextEncoder().encode(JSON.stringify(m)).byteLength <= MAX_METADATA_BYTES, {
    message: `metadata must serialise to at most ${MAX_METADATA_BYTES} bytes`,
  })
  .meta({ id: 'Metadata', description: 'Free-form string pairs echoed back on the job and its webhooks (≤ 4 KB).' });

/** The text Yi-VL's template puts where the image goes; a question may not contain it (there is one image). */
export const IMAGE_PLACEHOLDER = '<image_placeholder>';

export const PromptSchema = z.string().trim().min(1, 'prompt must not be empty').max(MAX_PROMPT_CHARS);

/** A new question: a prompt that does not contain the image placeholder (the worker would refuse it). */
export const QuestionSchema = PromptSchema.refine((p) => !p.includes(IMAGE_PLACEHOLDER), {
  message: `prompt must not contain ${IMAGE_PLACEHOLDER}: the template places the one image itself`,
});

/** What the uploaded image was and what the model received. */
export const JobInputSchema = z
  .object({
    source: z.enum(['upload', 'url', 'data_url', 'parent']),
    key: z.string(),
    format: z.enum(['jpeg', 'png', 'webp', 'gif', 'avif']),
    width: z.number().int().positive().describe('width after EXIF orientation'),
    height: z.number().int().positive().describe('height after EXIF orientation'),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    model_width: z.number().int().positive(),
    model_height: z.number().int().positive(),
    prepared_by: z
      .enum(['edge', 'worker'])
      .optional()
      .describe(
        "who made the model input: absent or 'edge', `key` is the 448×448 PNG; 'worker', `key` is the upload as sent " +
          '(validated by the edge, too large to decode there) and the worker prepares the model input from it',
      ),
  })
  .meta({ id: 'JobInput' });
export type JobInput = z.infer<typeof JobInputSchema>;

/**
 * A batch item's image before the worker has fetched and prepared it: the job's `input` is absent until then. A
 * `data:` URL's bytes were stored by the batch intake at `key`; a remote URL is fetched by the worker (SSRF-checked)
 * and stored there. The limits are the edge's at the time the batch was accepted.
 */
export const PendingInputSchema = z
  .object({
    source: z.enum(['url', 'data_url']),
    key: z.string(),
    url: z.string().optional(),
    limits: z.object({
      max_bytes: z.number().int().positive(),
      max_pixels: z.number().int().positive(),
      max_side: z.number().int().positive(),
    }),
  })
  .meta({ id: 'PendingInput' });
export type PendingInput = z.infer<typeof PendingInputSchema>;

export const ConversationTurnSchema = z.object({ question: z.string(), answer: z.string() }).meta({ id: 'Turn' });
export type ConversationTurn = z.infer<typeof ConversationTurnSchema>;

export const ConversationSchema = z
  .object({
    root_id: JobIdSchema.describe('the job whose image the conversation is about'),
    parent_id: JobIdSchema.optional(),
    history: z.array(ConversationTurnSchema).describe('earlier rounds, oldest first; the image is in the first'),
  })
  .meta({ id: 'Conversation' });
export type Conversation = z.infer<typeof ConversationSchema>;

export const FINISH_REASONS = ['stop', 'length', 'canceled'] as const;
export const JobOutputSchema = z
  .object({
    text: z.string(),
    finish_reason: z.enum(FINISH_REASONS),
    json: z
      .unknown()
      .optional()
      .describe(
        'the answer parsed, for response_format json_object / json_schema: present only when finish_reason is ' +
          'stop and the text parses (and validates against the schema)',
      ),
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
  })
  .meta({ id: 'JobOutput' });
export type JobOutput = z.infer<typeof JobOutputSchema>;

export const JobErrorSchema = z
  .object({ code: z.string(), message: z.string(), retryable: z.boolean().optional() })
  .meta({ id: 'JobError' });
export type JobError = z.infer<typeof JobErrorSchema>;

export const JobUsageSchema = z
  .object({
    prompt_tokens: z.number().int().nonnegative().describe('text tokens of the rendered prompt'),
    image_tokens: z.number().int().nonnegative().describe('positions taken by the projected image features'),
    completion_tokens: z.number().int().nonnegative(),
    total_tokens: z.number().int().nonnegative(),
    images: z.number().int().nonnegative(),
    gpu_ms: z.number().nonnegative().describe('model wall time on the accelerator: the billing unit'),
    queue_ms: z.number().nonnegative(),
  })
  .meta({ id: 'JobUsage' });
export type JobUsage = z.infer<typeof JobUsageSchema>;

export const WebhookSettingsSchema = z
  .object({
    url: z.url({ protocol: /^https?$/ }),
    events: z.array(WebhookEventTypeSchema).min(1),
  })
  .meta({ id: 'WebhookSettings' });
export type WebhookSettings = z.infer<typeof WebhookSettingsSchema>;

export const WebhookAttemptSchema = z
  .object({
    webhook_id: z.string(),
    event: DeliveryEventTypeSchema,
    attempt: z.number().int().positive(),
    at: IsoTime,
    status_code: z.number().int().optional(),
    latency_ms: z.number().nonnegative(),
    outcome: z.enum(['delivered', 'retrying', 'gave_up', 'refused', 'stopped']),
    error: z.string().optional(),
  })
  .meta({ id: 'WebhookAttempt' });
export type WebhookAttempt = z.infer<typeof WebhookAttemptSchema>;

/** The stored job record: the single source of truth for a job, one JSON object per job. */
export const JobRecordSchema = z
  .object({
    object: z.literal('job'),
    id: JobIdSchema,
    tenant: TenantIdSchema,
    api_key_id: z.string(),
    status: JobStatusSchema,
    created_at: IsoTime,
    updated_at: IsoTime,
    started_at: IsoTime.optional(),
    completed_at: IsoTime.optional(),
    expires_at: IsoTime.describe('queue deadline: a job not started by then ends failed with queue_ttl_expired'),
    cancel_requested_at: IsoTime.optional(),
    prompt: PromptSchema,
    params: GenerationParamsSchema,
    input: JobInputSchema.optional().describe('absent only while a batch item waits for its image to be prepared'),
    pending_input: PendingInputSchema.optional().describe('internal: a batch item’s image source until it is prepared'),
    batch_id: BatchIdSchema.optional().describe('the batch this job is an item of'),
    custom_id: z.string().optional().describe('the batch item’s custom_id'),
    batch_index: z.number().int().nonnegative().optional().describe('internal: the item’s 0-based line in the batch'),
    conversation: ConversationSchema,
    output: JobOutputSchema.optional(),
    error: JobErrorSchema.optional(),
    usage: JobUsageSchema.optional(),
    webhook: WebhookSettingsSchema.optional(),
    webhook_attempts: z.array(WebhookAttemptSchema).default([]),
    attempts: z.number().int().nonnegative().describe('times a worker started this job'),
    run_message_id: z
      .string()
      .optional()
      .describe('internal: the queue message whose delivery started the current run (a duplicate message skips it)'),
    metadata: MetadataSchema.optional(),
    idempotency_key: z.string().optional(),
  })
  .meta({ id: 'JobRecord' });
export type JobRecord = z.infer<typeof JobRecordSchema>;

export type PublicJob = Omit<
  JobRecord,
  'api_key_id' | 'tenant' | 'input' | 'run_message_id' | 'pending_input' | 'batch_index'
> & {
  input?: Omit<JobInput, 'key' | 'prepared_by'>;
};

/**
 * What the API returns: the record without internal fields (tenant, key id, storage keys, who prepared the input,
 * queue message id, a batch item's pending image source and line index).
 */
export function toPublicJob(job: JobRecord): PublicJob {
  const { api_key_id: _k, tenant: _t, input, run_message_id: _m, pending_input: _p, batch_index: _i, ...rest } = job;
  if (!input) return rest;
  const { key: _key, prepared_by: _by, ...publicInput } = input;
  return { ...rest, input: publicInput };
}
