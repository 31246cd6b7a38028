import { z } from 'zod';
import { BatchIdSchema, DeliveryEventTypeSchema, JobIdSchema, TenantIdSchema } from './job.ts';

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
 * The batch queue carries the items' job messages and, once per batch, this: the worker that receives it turns the
 * batch's stored requests into job records and item messages (resumably: the batch record keeps its progress).
 */
export const BatchIntakeMessageSchema = z.object({
  v: z.literal(JOB_MESSAGE_VERSION),
  kind: z.literal('batch_intake'),
  batch_id: BatchIdSchema,
  tenant: TenantIdSchema,
});
export type BatchIntakeMessage = z.infer<typeof BatchIntakeMessageSchema>;

export function encodeBatchIntakeMessage(batch_id: string, tenant: string): string {
  return JSON.stringify(
    BatchIntakeMessageSchema.parse({ v: JOB_MESSAGE_VERSION, kind: 'batch_intake', batch_id, tenant }),
  );
}

/** A batch-queue message: an item's job pointer or a batch's intake; null when it is neither (dead-letter it). */
export function decodeBatchQueueMessage(
  body: string,
): { kind: 'job'; message: JobMessage } | { kind: 'intake'; message: BatchIntakeMessage } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const intake = BatchIntakeMessageSchema.safeParse(parsed);
  if (intake.success) return { kind: 'intake', message: intake.data };
  const job = JobMessageSchema.safeParse(parsed);
  return job.success ? { kind: 'job', message: job.data } : null;
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
  job_id: JobIdSchema.optional().describe('the job the event is about (job.* events)'),
  batch_id: BatchIdSchema.optional().describe('the batch the event is about (batch.* events)'),
  api_key_id: z.string(),
  event: DeliveryEventTypeSchema,
  url: z.url(),
  payload: z.string().describe('the exact JSON body to sign and send'),
  attempt: z.number().int().positive(),
  first_attempt_at: z.iso.datetime(),
});
export type WebhookDeliveryMessage = z.infer<typeof WebhookDeliveryMessageSchema>;
