import { z } from 'zod';
import { defaultMaxNewTokens, ResponseFormatRequestSchema } from '../structured/response-format.ts';
import { GENERATION_DEFAULTS, GenerationParamsSchema, MAX_NEW_TOKENS_LIMIT } from './generation-params.ts';
import { JobIdSchema, MetadataSchema, QuestionSchema, WEBHOOK_EVENT_TYPES, WebhookEventTypeSchema } from './job.ts';

/**
 * Fields of `POST /v1/jobs`, flat so that they map one-to-one onto multipart form fields.
 * The image comes as a multipart `image` file, a JSON `image_url` (http(s) or a `data:` URL), or from `parent`.
 */
export const JobCreateFieldsSchema = z
  .object({
    prompt: QuestionSchema,
    parent: JobIdSchema.optional().describe('ask a follow-up question about this job’s image'),
    image_url: z.string().max(30_000_000).optional().describe('https URL or data: URL (JSON requests only)'),
    webhook: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    webhook_events: z
      .array(WebhookEventTypeSchema)
      .min(1)
      .default([...WEBHOOK_EVENT_TYPES]),
    metadata: MetadataSchema.optional(),
  })
  .extend(GenerationParamsSchema.partial().shape)
  .extend({
    // No default here: left out, it depends on response_format (generationParamsOf).
    max_new_tokens: z
      .number()
      .int()
      .min(1)
      .max(MAX_NEW_TOKENS_LIMIT)
      .optional()
      .describe(
        `default ${GENERATION_DEFAULTS.max_new_tokens}; with a bounded json_schema, the schema's token bound (docs/api.md)`,
      ),
    // Checked against the supported JSON Schema subset here, so a bad schema is a 422 before anything is stored.
    response_format: ResponseFormatRequestSchema.optional().describe(
      'JSON output: {"type":"json_object"} or {"type":"json_schema","json_schema":{"name":…,"schema":{…}}} ' +
        '(in multipart, a JSON-encoded text field)',
    ),
  })
  .meta({ id: 'JobCreateRequest' });

export type JobCreateFields = z.infer<typeof JobCreateFieldsSchema>;

/**
 * Pulls the generation settings out of create fields, filling Yi-VL's defaults. Left out, `max_new_tokens` is a
 * bounded schema's token bound (so its answer always completes), else the default.
 */
export function generationParamsOf(
  fields: Pick<
    JobCreateFields,
    'max_new_tokens' | 'temperature' | 'top_p' | 'top_k' | 'repetition_penalty' | 'seed' | 'response_format'
  >,
) {
  const format = fields.response_format?.type === 'text' ? undefined : fields.response_format;
  return GenerationParamsSchema.parse({
    max_new_tokens:
      fields.max_new_tokens ?? defaultMaxNewTokens(format, GENERATION_DEFAULTS.max_new_tokens, MAX_NEW_TOKENS_LIMIT),
    temperature: fields.temperature,
    top_p: fields.top_p,
    top_k: fields.top_k,
    repetition_penalty: fields.repetition_penalty,
    seed: fields.seed,
    ...(format ? { response_format: format } : {}),
  });
}
