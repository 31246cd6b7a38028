import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import type { JobEventType } from '../../shared/schemas/events.ts';
import type { JobRecord, WebhookEventType } from '../../shared/schemas/job.ts';
import { webhookDeliveryFor, webhookIdFor } from '../../shared/webhooks/delivery.ts';
import { type QueuedDelivery, RECOVERY_DELAY_SECONDS } from '../webhooks/delivery-message.ts';

/**
 * Publishes one state change: an entry on the tenant's event feed and, when the job subscribed to it, a message on
 * the webhook delivery queue. Both are durable before this resolves, so the caller may then ack the job message.
 */
export class JobNotifier {
  constructor(
    private readonly repo: JobRepository,
    private readonly webhookQueue: JobQueue,
    private readonly recoveryDelaySeconds = RECOVERY_DELAY_SECONDS,
  ) {}

  async announce(job: JobRecord, type: Extract<JobEventType, `job.${string}`>): Promise<void> {
    if (type === 'job.succeeded' || type === 'job.failed' || type === 'job.canceled')
      await this.repo.appendTerminalEvent(job);
    else await this.repo.appendEvent(job, type);
    if (type !== 'job.queued') await this.enqueueWebhook(job, type);
  }

  async enqueueWebhook(job: JobRecord, event: WebhookEventType): Promise<boolean> {
    const delivery = webhookDeliveryFor(job, event);
    if (!delivery) return false;
    await this.webhookQueue.send(JSON.stringify(delivery));
    return true;
  }

  /**
   * For a redelivered message whose job already ended: whoever ended it may have died (or lost S3/SQS) between the
   * record write and the event or webhook enqueue. The terminal event is written if missing (its id is derived from
   * the job). Unless a webhook attempt is already recorded, queue a delayed recovery copy; the deliverer drops it if
   * the original has been attempted by then (the webhook-id is the same either way).
   */
  async ensureTerminalNotices(job: JobRecord): Promise<boolean> {
    if (job.status !== 'succeeded' && job.status !== 'failed' && job.status !== 'canceled') return false;
    await this.repo.appendTerminalEvent(job);
    const event: WebhookEventType = `job.${job.status}`;
    const id = webhookIdFor(job, event);
    if (job.webhook_attempts.some((a) => a.webhook_id === id)) return false;
    const delivery = webhookDeliveryFor(job, event);
    if (!delivery) return false;
    await this.webhookQueue.send(JSON.stringify({ ...delivery, recovery: true } satisfies QueuedDelivery), {
      delaySeconds: this.recoveryDelaySeconds,
    });
    return true;
  }
}
