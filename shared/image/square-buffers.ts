/**
 * Buffers for the padded square that libvips resizes (sharp-preprocess.ts). A 2 MP photo's square is ≈ 9 MB;
 * allocating it fresh for every upload makes the kernel hand over and zero ≈ 2,000 new pages each time, which on a
 * VM costs more CPU than filling and copying the square itself. A few released buffers are kept and handed out
 * again; large squares and anything beyond the retained budget are left to the garbage collector.
 *
 * At most `maxInUse` squares exist at once; later callers wait their turn. libvips resizes only as many images at a
 * time as libuv has threads, so squares built beyond that would only wait in memory (16 uploads in flight would
 * otherwise hold 16 squares: ≈ 140 MB for 2 MP photos, several GB for the largest accepted images).
 */

/** Capacities are rounded up to this, so squares of nearby sizes share buffers. */
const GRANULE = 1 << 20;

export interface SquareBufferPoolOptions {
  /** Largest buffer kept for reuse (bytes). Larger squares are allocated and dropped per use. */
  maxBufferBytes: number;
  /** Total bytes of idle buffers kept. */
  maxRetainedBytes: number;
  /** Squares allowed to exist at once (pooled or not). */
  maxInUse: number;
}

export class SquareBufferPool {
  readonly #idle: Buffer[] = [];
  readonly #waiting: (() => void)[] = [];
  #retained = 0;
  #inUse = 0;

  constructor(private readonly options: SquareBufferPoolOptions) {}

  /** Runs `use` with a buffer of exactly `bytes` bytes (contents undefined); the buffer is reused once it settles. */
  async with<T>(bytes: number, use: (buffer: Buffer) => Promise<T>): Promise<T> {
    if (this.#inUse >= this.options.maxInUse) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inUse++;
    try {
      const pooled = bytes <= this.options.maxBufferBytes;
      const backing = (pooled && this.#take(bytes)) || Buffer.allocUnsafeSlow(pooled ? roundUp(bytes) : bytes);
      try {
        return await use(backing.subarray(0, bytes));
      } finally {
        if (pooled) this.#give(backing);
      }
    } finally {
      // Hand the turn straight to the next waiter, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inUse--;
    }
  }

  /** Squares in use now, and callers waiting for one. */
  get load(): { inUse: number; waiting: number } {
    return { inUse: this.#inUse, waiting: this.#waiting.length };
  }

  /** Bytes held by idle buffers. */
  get retainedBytes(): number {
    return this.#retained;
  }

  /** The smallest idle buffer that fits. */
  #take(bytes: number): Buffer | undefined {
    let best = -1;
    for (let i = 0; i < this.#idle.length; i++) {
      const candidate = this.#idle[i]!;
      if (candidate.length >= bytes && (best < 0 || candidate.length < this.#idle[best]!.length)) best = i;
    }
    if (best < 0) return undefined;
    const [buffer] = this.#idle.splice(best, 1);
    this.#retained -= buffer!.length;
    return buffer;
  }

  #give(buffer: Buffer): void {
    // Over budget: drop the smallest idle buffers first, then this one if it still does not fit.
    this.#idle.sort((a, b) => a.length - b.length);
    while (this.#retained + buffer.length > this.options.maxRetainedBytes && this.#idle.length > 0) {
      this.#retained -= this.#idle.shift()!.length;
    }
    if (this.#retained + buffer.length > this.options.maxRetainedBytes) return;
    this.#idle.push(buffer);
    this.#retained += buffer.length;
  }
}

function roundUp(bytes: number): number {
  return Math.ceil(bytes / GRANULE) * GRANULE;
}
