import { z } from 'zod';
import { type WebhookDeliveryMessage, WebhookDeliveryMessageSchema } from '../../shared/schemas/queue-message.ts';

/**
 * The delivery-queue message as this worker reads it: the shared shape plus
 * - `not_before`: set when a retry waits longer than SQS's 15-minute delay limit and is re-enqueued in hops;
 * - `recovery`: a late copy queued by a worker that found a job already ended but no attempt recorded (its
 *   original may have been lost); dropped if the original has been attempted by then.
 */
export const QueuedDeliverySchema = WebhookDeliveryMessageSchema.extend({
  not_before: z.iso.datetime().optional(),
  recovery: z.boolean().optional(),
});
export type QueuedDelivery = WebhookDeliveryMessage & { not_before?: string; recovery?: boolean };

/** How long a recovery copy waits, so that an original still in the queue is attempted (and recorded) first. */
export const RECOVERY_DELAY_SECONDS = 60;

export function parseQueuedDelivery(body: string): QueuedDelivery | null {
  try {
    const res = QueuedDeliverySchema.safeParse(JSON.parse(body));
    return res.success ? res.data : null;
  } catch {
    return null;
  }
}
