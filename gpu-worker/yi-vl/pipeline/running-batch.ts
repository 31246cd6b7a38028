// The rows decoding together and their shared KV cache (row b of the cache belongs to rows[b]). Between decode runs
// rows leave (their KV rows are compacted away) and prefilled rows join (the shared buffer grows to the longest
// newcomer's length). Reshaping works on host arrays: a cache kept on the device (WebGPU EP) comes back first.
import type { GenerationRow } from './generation-row.ts';
import { KvCache } from './kv-cache.ts';

/** A row just prefilled into its own batch-1 cache. */
export interface PrefilledRow {
  row: GenerationRow;
  cache: KvCache;
}

/** Brings device-resident caches back to the host (a no-op where caches stay on the host). */
export type ToHost = (...caches: KvCache[]) => Promise<void>;

export class RunningBatch {
  private constructor(
    private members: GenerationRow[],
    private shared: KvCache | null,
    private readonly toHost: ToHost,
  ) {}

  /** The batch of the given prefilled rows (all of one max length), each counted as starting in it. */
  static async of(prefilled: readonly PrefilledRow[], toHost: ToHost): Promise<RunningBatch> {
    const rows = prefilled.map((p) => p.row);
    for (const row of rows) row.batchSize = rows.length;
    if (prefilled.length > 1) await toHost(...prefilled.map((p) => p.cache));
    const cache =
      prefilled.length === 0
        ? null
        : prefilled.length === 1
          ? prefilled[0]!.cache
          : KvCache.stack(prefilled.map((p) => p.cache));
    return new RunningBatch(rows, cache, toHost);
  }

  get rows(): readonly GenerationRow[] {
    return this.members;
  }

  get size(): number {
    return this.members.length;
  }

  /** the shared cache; null when no row is left */
  get cache(): KvCache | null {
    return this.shared;
  }

  /** positions of the shared KV buffer (0 when empty) */
  get maxLength(): number {
    return this.shared?.maxLength ?? 0;
  }

  /** Takes out, in order, every row for which `leaves` says so, and compacts the cache to the rest. */
  async remove(leaves: (row: GenerationRow) => boolean): Promise<void> {
    const keep: number[] = [];
    this.members.forEach((row, b) => {
      if (!leaves(row)) keep.push(b);
    });
    const cache = this.shared;
    if (!cache || keep.length === this.members.length) return;
    if (keep.length > 0) await this.toHost(cache);
    cache.releaseDevice();
    this.shared = keep.length > 0 ? cache.select(keep) : null;
    this.members = keep.map((b) => this.members[b]!);
  }

  /** Adds prefilled rows after the current ones; each counts the batch it joins, itself included. */
  async join(prefilled: readonly PrefilledRow[]): Promise<void> {
    if (prefilled.length === 0) return;
    const cache = this.shared;
    await this.toHost(...(cache ? [cache] : []), ...prefilled.map((p) => p.cache));
    const L = Math.max(cache?.maxLength ?? 0, ...prefilled.map((p) => p.cache.maxLength));
    const grow = (c: KvCache) => (c.maxLength === L ? c : c.resized(L));
    this.shared = KvCache.concat([...(cache ? [grow(cache)] : []), ...prefilled.map((p) => grow(p.cache))]);
    this.members = [...this.members, ...prefilled.map((p) => p.row)];
    for (const p of prefilled) p.row.batchSize = this.members.length;
  }

  /** Frees the device copy of the shared cache, if any. */
  release(): void {
    this.shared?.releaseDevice();
  }
}
