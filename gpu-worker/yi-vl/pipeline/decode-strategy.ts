// How a running batch advances between scheduling points. The scheduler asks for a strategy before every run
// (the batch's rows may have changed), so different batches can decode differently: a strategy that makes several
// tokens per session.run() (an in-graph loop, as loop-decoder.ts drives) fits beside the one-token JS step.
import type { DecoderDriver } from './decoder-driver.ts';
import type { GenerationRow } from './generation-row.ts';
import type { KvCache } from './kv-cache.ts';
import type { TokenEmbedder } from './token-embedder.ts';

export interface DecodeStrategy {
  /**
   * Feeds every row's last token (row b of `cache` is `rows[b]`) and has each row take the choice(s) that follow;
   * rows then check themselves for the end. A strategy that makes several tokens per call must stop a row where it
   * would stop alone.
   */
  advance(cache: KvCache, rows: readonly GenerationRow[]): Promise<void>;
}

/** One position per row per decoder call; every row chooses its next token in JS from its logits row. */
export class StepDecode implements DecodeStrategy {
  constructor(
    private readonly driver: DecoderDriver,
    private readonly embedder: TokenEmbedder,
  ) {}

  async advance(cache: KvCache, rows: readonly GenerationRow[]): Promise<void> {
    const V = this.driver.vocabSize;
    // masked rows' next masks depend only on the tokens chosen so far: started before the decoder call
    const masks = Promise.all(rows.map((r) => r.prepareChoice()));
    masks.catch(() => {}); // awaited below; a decoder failure must not leave it unhandled
    const embeds = await this.embedder.step(rows.map((r) => r.lastToken));
    const logits = await this.driver.run(
      cache,
      embeds,
      1,
      rows.map((r) => r.length),
    );
    await masks;
    rows.forEach((row, b) => {
      row.step(logits.subarray(b * V, (b + 1) * V));
    });
  }
}
