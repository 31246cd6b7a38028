import { ProblemError } from '../../shared/errors/problem.ts';
import type { JobQueue, QueueDepth } from '../../shared/ports/job-queue.ts';

/** Seconds a client is asked to wait when the queue is full: roughly the time workers need to drain a bit. */
const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;

/**
 * Backpressure: refuses new jobs while the job queue holds `maxDepth` or more waiting messages. One depth reading
 * is shared by all requests for `cacheMs`, so the check costs one SQS call per interval, not per request.
 */
export class QueueGate {
  private cached: { at: number; depth: Promise<QueueDepth> } | null = null;

  constructor(
    private readonly queue: JobQueue,
    private readonly maxDepth: number,
    private readonly cacheMs: number,
  ) {}

  async check(nowMs: number): Promise<void> {
    if (this.maxDepth <= 0) return;
    if (!this.cached || nowMs - this.cached.at >= this.cacheMs) {
      const depth = this.queue.depth();
      this.cached = { at: nowMs, depth };
      depth.catch(() => {
        if (this.cached?.depth === depth) this.cached = null;
      });
    }
    const { visible, delayed } = await this.cached.depth;
    if (visible + delayed >= this.maxDepth)
      throw new ProblemError(
        'queue_full',
        'The job queue is at capacity; retry later.',
        { retry_after: QUEUE_FULL_RETRY_AFTER_SECONDS },
        { 'Retry-After': String(QUEUE_FULL_RETRY_AFTER_SECONDS) },
      );
  }
}
