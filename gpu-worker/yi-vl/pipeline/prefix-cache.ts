// The KV of the prompt text before the image (system prompt + "### Human: "), the same for every request: computed
// once per model load; a request whose prompt starts with it copies it and prefills only the rest.
import type { DecoderDriver } from './decoder-driver.ts';
import { KvCache, type KvLayout } from './kv-cache.ts';
import type { TokenEmbedder } from './token-embedder.ts';

export class PrefixCache {
  private constructor(
    readonly ids: readonly number[],
    /** batch 1, exactly `ids.length` positions, on the host */
    private readonly cache: KvCache,
  ) {}

  /** Prefills `ids` into a cache of their own; `toHost` brings it back from the device where the EP keeps it. */
  static async compute(
    ids: readonly number[],
    layout: KvLayout,
    driver: DecoderDriver,
    embedder: TokenEmbedder,
    toHost: (cache: KvCache) => Promise<void>,
  ): Promise<PrefixCache> {
    const cache = new KvCache(layout, 1, ids.length);
    await driver.run(cache, await embedder.run(ids), ids.length, [0]);
    await toHost(cache);
    return new PrefixCache([...ids], cache);
  }

  /** Whether `promptIds` starts with the prefix and the image placeholder comes right after it, at `at`. */
  matches(promptIds: readonly number[], at: number): boolean {
    const n = this.ids.length;
    if (at <= 0 || at !== n) return false;
    for (let i = 0; i < n; i++) if (this.ids[i] !== promptIds[i]) return false;
    return true;
  }

  /** A fresh batch-1 cache of `maxLength` positions that starts with the prefix's KV. */
  seed(maxLength: number): KvCache {
    return KvCache.withPrefix(this.cache, this.ids.length, maxLength);
  }

  release(): void {
    this.cache.releaseDevice();
  }
}
