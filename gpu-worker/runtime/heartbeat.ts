import type { JobQueue } from '../../shared/ports/job-queue.ts';
import type { Logger } from '../ops/logger.ts';

/**
 * Keeps a message leased while its job runs: every third of the visibility timeout, extends the lease to a full
 * timeout again. A failed extension is logged; the next beat tries again before the lease can lapse.
 */
export function startHeartbeat(
  queue: JobQueue,
  receiptHandle: string,
  visibilityTimeoutSeconds: number,
  logger: Logger,
): { stop(): void } {
  const intervalMs = Math.max(500, (visibilityTimeoutSeconds * 1000) / 3);
  const timer = setInterval(() => {
    queue.changeVisibility(receiptHandle, visibilityTimeoutSeconds).catch((err: unknown) => {
      logger.warn({ err }, 'visibility heartbeat failed');
    });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
