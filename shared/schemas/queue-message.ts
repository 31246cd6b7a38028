import { z } from 'zod';
import { JobIdSchema, TenantIdSchema, WebhookEventTypeSchema } from './job.ts';

/**
 * The job queue carries only a pointer to the job record; everything else lives in the record, so a redelivered
 * or duplicated message is harmless. `v` lets a newer worker refuse (and dead-letter) a message it cannot read.
 */
export const JOB_MESSAGE_VERSION = 1;
export const JobMessageSchema = z.object({
  v: z.literal(JOB_MESSAGE_VERSION),
  job_id: JobIdSchema,
  tenant: TenantIdSchema,
});
export type JobMessage = z.infer<typeof JobMessageSchema>;

export function encodeJobMessage(job_id: string, tenant: string): string {
  return JSON.stringify(JobMessageSchema.parse({ v: JOB_MESSAGE_VERSION, job_id, tenant }));
}

export function decodeJobMessage(body: string): JobMessage {
  return JobMessageSchema.parse(JSON.parse(body));
}

/**
 * A webhook delivery waiting on the delivery queue. The signed payload is fixed when the event happens and travels
 * with the message, so every retry sends the same bytes under the same `webhook-id`.
 */
export const WEBHOOK_MESSAGE_VERSION = 1;
export const WebhookDeliveryMessageSchema = z.object({
  v: z.literal(WEBHOOK_MESSAGE_VERSION),
  webhook_id: z.string().min(1),
  tenant: TenantIdSchema,
  job_id: JobIdSchema,
  api_key_id: z.string(),
  event: WebhookEventTypeSchema,
  url: z.url(),
  payload: z.string().describe('the exact JSON body to sign and send'),
  attempt: z.number().int().positive(),
  first_attempt_at: z.iso.datetime(),
});
export type WebhookDeliveryMessage = z.infer<typeof WebhookDeliveryMessageSchema>;
