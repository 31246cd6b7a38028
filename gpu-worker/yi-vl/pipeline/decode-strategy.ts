// How a running batch advances between scheduling points. The scheduler asks for a strategy before every run
// (the batch's rows may have changed), so different batches can decode differently: the one-token JS step, or K
// tokens per session.run() in the in-graph loop (loop-decoder.ts), whose choices equal the JS step's.
import type { DecoderDriver } from './decoder-driver.ts';
import type { GenerationRow } from './generation-row.ts';
import type { KvCache } from './kv-cache.ts';
import type { LoopDecoder } from './loop-decoder.ts';
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

/**
 * Up to `steps` tokens per row per decoder call in the in-graph loop, each row choosing with its own parameters,
 * seen ids and seeded uniforms (the same choices as StepDecode). The loop stops a row at EOS and at its
 * max_new_tokens / context budget, and pauses it after a token that may complete the stop string, which the row
 * then checks in JS; cancels and streamed text are seen between runs.
 */
export class LoopDecode implements DecodeStrategy {
  constructor(
    private readonly loop: LoopDecoder,
    readonly steps: number,
  ) {}

  async advance(cache: KvCache, rows: readonly GenerationRow[]): Promise<void> {
    const inputs = rows.map((r) => r.loopRow(this.steps));
    // no more steps than the longest budget: a batch near its end makes only what it may keep
    const steps = Math.max(...inputs.map((r) => r.budget));
    const tokens = await this.loop.run(cache, inputs, steps);
    rows.forEach((row, b) => {
      row.takeTokens(tokens[b]!);
    });
  }
}

/** A batch decodes in the loop (when there is one) unless some row needs a JS choice at every step (a logits mask). */
export function strategyFor(
  rows: readonly GenerationRow[],
  loop: DecodeStrategy | null,
  step: DecodeStrategy,
): DecodeStrategy {
  return loop && !rows.some((r) => r.needsPerStepDecision) ? loop : step;
}
