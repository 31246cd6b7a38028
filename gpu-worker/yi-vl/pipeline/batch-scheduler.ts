// One analyzeBatch call: admits requests into a running batch and drives it until every row has settled. Admission
// prepares each request as a GenerationRow, encodes the batch's images together (vision-encoder.ts) and prefills
// each prompt on its own (batch 1); between decode runs finished or canceled rows leave and settle at once, and
// with `admit` (continuous batching) queued requests are admitted the same way to join the batch, up to `maxRows`.

import type { DecodeStrategy } from './decode-strategy.ts';
import type { BatchItem, BatchOptions, EngineResult } from './engine-types.ts';
import { GenerationRow, type RowModel, type RowOptions } from './generation-row.ts';
import { type PrefilledRow, RunningBatch, type ToHost } from './running-batch.ts';
import type { VisionEncoder } from './vision-encoder.ts';

/** What the scheduler needs of the loaded model. */
export interface SchedulerModel extends RowModel {
  readonly vision: VisionEncoder;
  readonly toHost: ToHost;
  /** how the batch of these rows decodes its next run (rows with `needsPerStepDecision` need the JS step) */
  decodeFor(rows: readonly GenerationRow[]): DecodeStrategy;
  /** a row's options at admission (its grammar mask for a response_format); rejects for a format it cannot serve */
  rowOptionsFor?(input: BatchItem['input']): Promise<RowOptions>;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class BatchScheduler {
  private readonly results: PromiseSettledResult<EngineResult>[] = [];
  /** every row prepared so far, settled or not */
  private readonly rows: GenerationRow[] = [];
  private nextIndex = 0;
  private readonly maxRows: number;

  constructor(
    private readonly model: SchedulerModel,
    private readonly opts: BatchOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? Number.POSITIVE_INFINITY;
  }

  /** Runs `items` (and whatever `admit` brings) to the end; one result per item, in index order. */
  async run(items: readonly BatchItem[]): Promise<PromiseSettledResult<EngineResult>[]> {
    try {
      await this.decode(await RunningBatch.of(await this.start(items, 0), this.model.toHost));
    } catch (reason) {
      for (const row of this.rows) {
        row.release();
        if (!this.results[row.index]) this.settle(row.index, { status: 'rejected', reason });
      }
    }
    return this.results;
  }

  private settle(index: number, r: PromiseSettledResult<EngineResult>): void {
    this.results[index] = r;
    this.opts.onSettled?.(index, r);
  }

  private fulfil(row: GenerationRow, result: EngineResult): void {
    this.settle(row.index, { status: 'fulfilled', value: result });
  }

  /** Settles the rows whose signal has fired (as canceled before their prefill); returns the others. */
  private live(rows: readonly GenerationRow[]): GenerationRow[] {
    return rows.filter((row) => {
      if (!row.aborted) return true;
      this.fulfil(row, row.canceledResult());
      return false;
    });
  }

  /** Prepares, encodes and prefills new items into batch-1 caches of at least `minLength` positions. */
  private async start(items: readonly BatchItem[], minLength: number): Promise<PrefilledRow[]> {
    const t0 = performance.now();
    const rows: GenerationRow[] = [];
    for (const item of items) {
      const index = this.nextIndex++;
      try {
        const options = (await this.model.rowOptionsFor?.(item.input)) ?? {};
        try {
          rows.push(new GenerationRow(index, item, t0, this.model, options));
        } catch (err) {
          options.logitsMask?.dispose?.();
          throw err;
        }
      } catch (reason) {
        this.settle(index, { status: 'rejected', reason });
      }
    }
    this.rows.push(...rows);
    let active = this.live(rows);
    const images = await this.model.vision.encode(active.map((row) => row.input.rgb));
    active.forEach((row, i) => {
      row.setImage(images[i]!);
    });
    await yieldToEventLoop();
    active = this.live(active);
    const maxLength = Math.max(minLength, ...active.map((row) => row.maxLength));
    const prefilled: PrefilledRow[] = [];
    for (const row of active) {
      const cache = await row.prefill(maxLength);
      if (row.finished) {
        cache.releaseDevice();
        this.fulfil(row, row.result());
      } else prefilled.push({ row, cache });
    }
    return prefilled;
  }

  /** Decode runs until every row has left; rows leave and join only between runs. */
  private async decode(batch: RunningBatch): Promise<void> {
    const admit = this.opts.admit;
    try {
      for (;;) {
        await yieldToEventLoop();
        await batch.remove((row) => {
          if (!row.finishedOrCanceled()) return false;
          this.fulfil(row, row.result());
          return true;
        });
        if (admit && batch.size < this.maxRows) {
          const more = admit(this.maxRows - batch.size);
          if (more.length > 0) await batch.join(await this.start(more, batch.maxLength));
        }
        const cache = batch.cache;
        if (!cache || batch.size === 0) return;
        await this.model.decodeFor(batch.rows).advance(cache, batch.rows);
      }
    } finally {
      batch.release();
    }
  }
}
