import { setTimeout as sleep } from 'node:timers/promises';
import type { JobQueue, ReceivedMessage } from '../../shared/ports/job-queue.ts';
import type { Logger } from '../ops/logger.ts';

/** With a background queue, how long an idle loop long-polls the main queue before looking at the background one. */
const IDLE_WAIT_WITH_BACKGROUND_SECONDS = 2;

export interface PollLoopOptions {
  name: string;
  queue: JobQueue;
  /** Messages handled at once; a receive never asks for more than the free slots (and at most 10). */
  concurrency: number;
  waitSeconds: number;
  visibilityTimeoutSeconds?: number;
  /** Handles one message; must settle (ack, release or leave) on its own and never throw for expected failures. */
  handle: (message: ReceivedMessage, shutdown: AbortSignal) => Promise<void>;
  logger: Logger;
  onReceiveError?: () => void;
  /**
   * A second queue whose messages are taken only when `queue` has none waiting (batch items behind interactive
   * jobs): every receive asks `queue` first, waiting `probeSeconds`, and only then this one, without waiting. When
   * both were empty, the next receive long-polls `queue` for a couple of seconds (not the full wait, which would
   * leave new batch items unseen that long): an idle worker costs about one request a second.
   */
  background?: {
    name: string;
    queue: JobQueue;
    handle: (message: ReceivedMessage, shutdown: AbortSignal) => Promise<void>;
    probeSeconds: number;
    onReceiveError?: () => void;
  };
}

/**
 * A long-polling SQS consumer with bounded concurrency, in the manner of bbc/sqs-consumer but with slots: it only
 * leases as many messages as it can start now, so nothing waits in a local buffer while its lease runs out.
 */
export class PollLoop {
  private readonly inFlight = new Set<Promise<void>>();
  /** Set on stop: no new receive starts. */
  private readonly polling = new AbortController();
  /** Aborts a receive still waiting when stop gives up on it. */
  private readonly receiveAbort = new AbortController();
  private readonly shutdown = new AbortController();
  private loop: Promise<void> | null = null;
  private slotFreed: (() => void) | null = null;
  private consecutiveErrors = 0;

  constructor(private readonly options: PollLoopOptions) {}

  get active(): number {
    return this.inFlight.size;
  }
  get healthy(): boolean {
    return this.consecutiveErrors < 3;
  }
  get stopping(): boolean {
    return this.polling.signal.aborted;
  }

  start(): void {
    this.loop ??= this.run();
  }

  private async run(): Promise<void> {
    const { queue, logger, background } = this.options;
    const signal = this.polling.signal;
    let idle = true;
    while (!signal.aborted) {
      const free = this.options.concurrency - this.inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        continue;
      }
      const receiveOptions = {
        maxMessages: Math.min(10, free),
        ...(this.options.visibilityTimeoutSeconds !== undefined
          ? { visibilityTimeoutSeconds: this.options.visibilityTimeoutSeconds }
          : {}),
        signal: this.receiveAbort.signal,
      };
      let messages: ReceivedMessage[];
      let from: 'main' | 'background' = 'main';
      try {
        messages = await queue.receive({
          ...receiveOptions,
          waitSeconds: !background
            ? this.options.waitSeconds
            : idle
              ? Math.min(this.options.waitSeconds, IDLE_WAIT_WITH_BACKGROUND_SECONDS)
              : background.probeSeconds,
        });
        if (messages.length === 0 && background && !signal.aborted) {
          from = 'background';
          messages = await background.queue.receive({ ...receiveOptions, waitSeconds: 0 }).catch((err: unknown) => {
            background.onReceiveError?.();
            throw err;
          });
        }
        idle = messages.length === 0;
        this.consecutiveErrors = 0;
      } catch (err) {
        if (signal.aborted) break;
        this.consecutiveErrors++;
        if (from === 'main') this.options.onReceiveError?.();
        const backoffMs = Math.min(10_000, 250 * 2 ** Math.min(this.consecutiveErrors, 6));
        logger.warn({ err, loop: this.options.name, from, backoffMs }, 'queue receive failed');
        await sleep(backoffMs, undefined, { signal }).catch(() => {});
        continue;
      }
      const source = from === 'main' ? queue : background!.queue;
      if (signal.aborted) {
        // Leased while stopping: hand them straight back rather than strand them for a visibility timeout.
        await Promise.allSettled(messages.map((m) => source.changeVisibility(m.receiptHandle, 0)));
        break;
      }
      const handle = from === 'main' ? this.options.handle : background!.handle;
      for (const message of messages) this.dispatch(message, handle);
    }
  }

  private dispatch(
    message: ReceivedMessage,
    handle: (message: ReceivedMessage, shutdown: AbortSignal) => Promise<void>,
  ): void {
    const task = handle(message, this.shutdown.signal)
      .catch((err: unknown) => {
        this.options.logger.error({ err, loop: this.options.name, messageId: message.messageId }, 'handler failed');
      })
      .finally(() => {
        this.inFlight.delete(task);
        const wake = this.slotFreed;
        this.slotFreed = null;
        wake?.();
      });
    this.inFlight.add(task);
  }

  /**
   * Stops leasing new messages, lets in-flight handlers finish within `graceMs`, then aborts the shutdown signal so
   * they release their messages, and waits (bounded by `releaseMs`) for that.
   */
  async stop(graceMs: number, releaseMs = 15_000): Promise<void> {
    this.polling.abort();
    const deadline = Date.now() + graceMs;
    // Let a pending long poll end by itself (an aborted receive can still lease messages server-side, which would
    // then sit invisible); give up on it after the poll's own wait.
    const pollEnded = await Promise.race([
      (this.loop ?? Promise.resolve()).then(() => true),
      sleep(Math.min(graceMs, this.options.waitSeconds * 1000) + 1000, false),
    ]);
    if (!pollEnded) {
      this.receiveAbort.abort();
      await this.loop;
    }
    if (this.inFlight.size > 0) {
      const drained = Promise.allSettled([...this.inFlight]).then(() => true);
      const done = await Promise.race([drained, sleep(Math.max(0, deadline - Date.now()), false)]);
      if (!done) {
        this.options.logger.warn(
          { loop: this.options.name, inFlight: this.inFlight.size },
          'grace period over: releasing in-flight messages',
        );
        this.shutdown.abort(new Error('worker shutting down'));
        await Promise.race([drained, sleep(releaseMs)]);
      }
    }
  }
}
