import { decodeJobMessage, type JobQueue, type ReceivedMessage } from '../../shared/index.ts';
import type { Logger } from '../ops/logger.ts';
import type { WorkerMetrics } from '../ops/metrics.ts';
import type { JobRunner } from './job-runner.ts';

/** Dead letters stay in the DLQ for operators; the sweeper looks at each one again only this often. */
export const DLQ_REVISIT_SECONDS = 12 * 3600;

/**
 * Defence in depth for jobs whose worker died on the last delivery (so nobody marked them failed): every message
 * on the job DLQ gets its job failed `too_many_attempts` unless it already ended. The message itself is kept.
 */
export class DlqSweeper {
  constructor(private readonly deps: { dlq: JobQueue; runner: JobRunner; logger: Logger; metrics: WorkerMetrics }) {}

  async handle(message: ReceivedMessage): Promise<void> {
    const { dlq, runner, logger, metrics } = this.deps;
    let ref: ReturnType<typeof decodeJobMessage>;
    try {
      ref = decodeJobMessage(message.body);
    } catch {
      logger.error({ messageId: message.messageId }, 'unreadable dead letter');
      await dlq.changeVisibility(message.receiptHandle, DLQ_REVISIT_SECONDS).catch(() => {});
      return;
    }
    try {
      const log = logger.child({ job_id: ref.job_id, tenant: ref.tenant, dead_letter: true });
      if (await runner.failDeadLettered(ref, log)) {
        metrics.jobs.inc({ outcome: 'dead_lettered' });
        log.warn('job of a dead-lettered message marked failed');
      }
      await dlq.changeVisibility(message.receiptHandle, DLQ_REVISIT_SECONDS);
    } catch (err) {
      // Left as is: the message comes back after the DLQ's visibility timeout.
      logger.warn({ err, job_id: ref.job_id }, 'dead letter could not be swept');
    }
  }
}
