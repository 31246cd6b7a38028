import { ProblemError } from '../../shared/errors/problem.ts';

/** Seconds a client is asked to wait when this instance is at its upload limit: uploads finish in well under one. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * Load shedding for job creation on one edge instance: at most `max` creates (each buffering an upload of up to
 * MAX_UPLOAD_BYTES and decoding it) run at once; the next one is refused at once with 429 `instance_busy` and
 * `Retry-After`, before its body is read. Bounds the instance's memory under any number of clients (docs/api.md).
 */
export class IntakeGate {
  private running = 0;

  constructor(private readonly max: number) {}

  get inFlight(): number {
    return this.running;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.max > 0 && this.running >= this.max) {
      throw new ProblemError(
        'instance_busy',
        `This instance is processing ${this.max} uploads; retry in a moment.`,
        { retry_after: BUSY_RETRY_AFTER_SECONDS },
        { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
      );
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
    }
  }
}
