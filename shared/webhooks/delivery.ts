import { type JobRecord, toPublicJob, type WebhookEventType } from '../schemas/job.ts';
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
