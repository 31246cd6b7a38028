import type { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { applyItemChanges, type ItemChange, type StartVerdict } from '../../shared/batches/item-states.ts';
import { type BatchRecord, isBatchEnded } from '../../shared/schemas/batch.ts';
import type { JobRecord } from '../../shared/schemas/job.ts';
import type { Logger } from '../ops/logger.ts';

interface Waiter {
  change: ItemChange;
  resolve: (value: { verdict: StartVerdict | undefined; batch: BatchRecord | null }) => void;
  reject: (err: unknown) => void;
}

interface Pending {
  tenant: string;
  batchId: string;
  waiters: Waiter[];
}

export interface BatchProgressDeps {
  batches: BatchRepository;
  /** Publishes a batch's end (results file, event, webhook); `recovery` when another writer ended it. */
  publishEnd: (batch: BatchRecord, recovery: boolean) => Promise<void>;
  logger: Logger;
  clock?: () => Date;
}

/**
 * Keeps a batch record's item states in step with its items' jobs. Every item start and end is one CAS on the batch
 * record; the changes this worker makes to one batch while a write is in flight are applied together in the next
 * write, so a worker running many rows of one batch writes its record far less than once per change. Each call
 * resolves only after its change is stored, so a job message is never acknowledged before the batch counts it.
 */
export class BatchProgress {
  private readonly pending = new Map<string, Pending>();
  private readonly flushing = new Set<string>();
  private readonly now: () => Date;

  constructor(private readonly deps: BatchProgressDeps) {
    this.now = deps.clock ?? (() => new Date());
  }

  /** Before a batch item runs: `run`, or `canceled` when the batch's cancel reached the item first. */
  async start(job: JobRecord): Promise<StartVerdict> {
    if (!job.batch_id || job.batch_index === undefined) return 'run';
    const { verdict } = await this.change(job, { kind: 'start', index: job.batch_index });
    // A batch record that is gone (deleted by hand) does not stop its items.
    return verdict ?? 'run';
  }

  /** After a batch item's job ended (or was found ended): count it, and publish the batch's end if it ended now. */
  async end(job: JobRecord): Promise<void> {
    if (!job.batch_id || job.batch_index === undefined) return;
    if (job.status !== 'succeeded' && job.status !== 'failed' && job.status !== 'canceled') return;
    await this.change(job, { kind: 'end', index: job.batch_index, state: job.status });
  }

  /** A batch item goes back to the queue (retry backoff, shutdown release). */
  async requeue(job: JobRecord): Promise<void> {
    if (!job.batch_id || job.batch_index === undefined) return;
    await this.change(job, { kind: 'requeue', index: job.batch_index });
  }

  private change(job: JobRecord, change: ItemChange) {
    const key = `${job.tenant}/${job.batch_id}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { tenant: job.tenant, batchId: job.batch_id!, waiters: [] };
      this.pending.set(key, entry);
    }
    const done = new Promise<{ verdict: StartVerdict | undefined; batch: BatchRecord | null }>((resolve, reject) =>
      entry.waiters.push({ change, resolve, reject }),
    );
    if (!this.flushing.has(key)) void this.flush(key);
    return done;
  }

  private async flush(key: string): Promise<void> {
    this.flushing.add(key);
    try {
      for (let entry = this.pending.get(key); entry; entry = this.pending.get(key)) {
        this.pending.delete(key);
        await this.write(entry);
      }
    } finally {
      this.flushing.delete(key);
    }
  }

  private async write(entry: Pending): Promise<void> {
    const changes = entry.waiters.map((w) => w.change);
    try {
      let verdicts = new Map<number, StartVerdict>();
      let endedHere = false;
      const res = await this.deps.batches.update(entry.tenant, entry.batchId, (batch) => {
        const wasEnded = isBatchEnded(batch.status);
        const applied = applyItemChanges(batch, changes, this.now().toISOString());
        verdicts = applied.verdicts;
        endedHere = !wasEnded && isBatchEnded(batch.status);
        return applied.changed;
      });
      const batch = res?.batch ?? null;
      if (batch && isBatchEnded(batch.status) && !batch.ended_notices_at) {
        // The writer whose CAS ended the batch publishes; one that finds it ended but unpublished (the publisher
        // died half-way) publishes again as a recovery, which delays its webhook copy.
        const recovery = !(res?.changed && endedHere);
        await this.deps.publishEnd(batch, recovery);
      }
      for (const w of entry.waiters)
        w.resolve({ verdict: w.change.kind === 'start' ? verdicts.get(w.change.index) : undefined, batch });
    } catch (err) {
      this.deps.logger.warn({ err, batch_id: entry.batchId }, 'batch progress write failed');
      for (const w of entry.waiters) w.reject(err);
    }
  }
}
