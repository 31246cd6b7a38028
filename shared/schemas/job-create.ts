import { z } from 'zod';
import { GenerationParamsSchema } from './generation-params.ts';
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
  .meta({ id: 'JobCreateRequest' });

export type JobCreateFields = z.infer<typeof JobCreateFieldsSchema>;

/** Pulls the generation settings out of create fields, filling Yi-VL's defaults. */
export function generationParamsOf(fields: JobCreateFields) {
  return GenerationParamsSchema.parse({
    max_new_tokens: fields.max_new_tokens,
    temperature: fields.temperature,
    top_p: fields.top_p,
    top_k: fields.top_k,
    repetition_penalty: fields.repetition_penalty,
    seed: fields.seed,
  });
}
