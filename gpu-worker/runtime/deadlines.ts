import type { JobRecord } from '../../shared/schemas/job.ts';

/** A job that was never started and whose queue deadline has passed must not run. */
export function queueTtlExpired(job: JobRecord, now: Date = new Date()): boolean {
  return job.started_at === undefined && Date.parse(job.expires_at) <= now.getTime();
}

export type AbortCause = 'cancel' | 'timeout' | 'shutdown';

/** Why a running job's signal aborted; the first cause wins. */
export class RunAbort {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onShutdown = () => this.abort('shutdown');
  cause: AbortCause | null = null;

  constructor(
    runTimeoutMs: number,
    private readonly shutdown: AbortSignal,
  ) {
    this.timer = setTimeout(() => this.abort('timeout'), runTimeoutMs).unref();
    if (shutdown.aborted) this.abort('shutdown');
    else shutdown.addEventListener('abort', this.onShutdown, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(cause: AbortCause): void {
    if (this.cause) return;
    this.cause = cause;
    this.controller.abort(new Error(`job aborted: ${cause}`));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.shutdown.removeEventListener('abort', this.onShutdown);
  }
}
