import { type BatchRecord, toPublicBatch } from '../schemas/batch.ts';
import { type BatchWebhookEventType, type JobRecord, toPublicJob, type WebhookEventType } from '../schemas/job.ts';
import {
  WEBHOOK_MESSAGE_VERSION,
  type WebhookDeliveryMessage,
  WebhookDeliveryMessageSchema,
} from '../schemas/queue-message.ts';

/**
 * The webhook-id of one event of one job. Terminal events happen once per job, so their id is stable across every
 * retry and every worker; `job.started` can recur when a job is retried, so it carries the attempt number.
 */
export function webhookIdFor(job: Pick<JobRecord, 'id' | 'attempts'>, event: WebhookEventType): string {
  const suffix = event === 'job.started' ? `_a${job.attempts}` : '';
  return `msg_${job.id}_${event.slice(4)}${suffix}`;
}

/**
 * Builds the delivery-queue message for an event, or null when the job has no webhook or did not subscribe to the
 * event. The body is rendered here, once, so retries send identical bytes.
 */
export function webhookDeliveryFor(
  job: JobRecord,
  event: WebhookEventType,
  now: Date = new Date(),
): WebhookDeliveryMessage | null {
  if (!job.webhook?.events.includes(event)) return null;
  const { webhook_attempts: _attempts, ...data } = toPublicJob(job);
  const payload = JSON.stringify({ type: event, timestamp: now.toISOString(), data });
  return WebhookDeliveryMessageSchema.parse({
    v: WEBHOOK_MESSAGE_VERSION,
    webhook_id: webhookIdFor(job, event),
    tenant: job.tenant,
    job_id: job.id,
    api_key_id: job.api_key_id,
    event,
    url: job.webhook.url,
    payload,
    attempt: 1,
    first_attempt_at: now.toISOString(),
  });
}

/** The webhook-id of a batch's end: one per batch, stable across every worker and retry. */
export function batchWebhookIdFor(batch: Pick<BatchRecord, 'id'>, event: BatchWebhookEventType): string {
  return `msg_${batch.id}_${event.slice('batch.'.length)}`;
}

/**
 * The delivery-queue message of a batch's end (`batch.completed` / `batch.canceled`), or null when the batch has no
 * webhook or did not subscribe to the event. `data` is the public batch with its counts and the results link.
 */
export function batchWebhookDeliveryFor(
  batch: BatchRecord,
  event: BatchWebhookEventType,
  resultsUrl: string,
  now: Date = new Date(),
): WebhookDeliveryMessage | null {
  if (!batch.webhook?.events.includes(event)) return null;
  const data = { ...toPublicBatch(batch), urls: { results: resultsUrl } };
  const payload = JSON.stringify({ type: event, timestamp: now.toISOString(), data });
  return WebhookDeliveryMessageSchema.parse({
    v: WEBHOOK_MESSAGE_VERSION,
    webhook_id: batchWebhookIdFor(batch, event),
    tenant: batch.tenant,
    batch_id: batch.id,
    api_key_id: batch.api_key_id,
    event,
    url: batch.webhook.url,
    payload,
    attempt: 1,
    first_attempt_at: now.toISOString(),
  });
}
