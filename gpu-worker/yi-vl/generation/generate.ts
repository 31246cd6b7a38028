// The decode loop, independent of how logits are computed: prefill once, then one token per step. The per-answer
// logic (processors, sampler, stopping criteria, streamer) lives in SequenceState, shared with batch decoding.

import { type ResolvedParams, type SequenceOptions, SequenceState } from './sequence.ts';
import type { FinishReason } from './stopping-criteria.ts';

export { makeSampler } from './sequence.ts';

/** Something that turns the prompt, then one token at a time, into next-token logits. */
export interface LogitsSource {
  /** Logits at the last prompt position. */
  prefill(): Promise<Float32Array>;
  /** Feeds one token; logits for the position after it. */
  step(tokenId: number): Promise<Float32Array>;
}

export interface GenerateOptions extends SequenceOptions {
  source: LogitsSource;
  params: ResolvedParams;
  /** Called with the prefill logits (e.g. for --logits-out) before any processor touches them. */
  onPrefillLogits?: (logits: Float32Array) => void;
  /** Yields to the event loop between steps so that cancellation messages are seen. */
  yieldBetweenSteps?: () => Promise<void>;
}

export interface GenerateTimings {
  prefillMs: number;
  decodeMs: number;
  firstTokenMs: number;
  tokensPerSecond: number;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  outputTokenIds: number[];
  seed: number | null;
  timings: GenerateTimings;
}

export function timingsOf(t0: number, prefillMs: number, firstTokenMs: number, tokens: number): GenerateTimings {
  const decodeMs = performance.now() - t0 - prefillMs;
  return {
    prefillMs,
    decodeMs,
    firstTokenMs,
    tokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0,
  };
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const seq = new SequenceState(o);
  const t0 = performance.now();
  let prefillMs = 0;
  let firstTokenMs = 0;
  if (!seq.finishReason) {
    let logits = await o.source.prefill();
    prefillMs = performance.now() - t0;
    o.onPrefillLogits?.(logits);
    for (;;) {
      const id = seq.accept(logits);
      if (seq.generated.length === 1) firstTokenMs = performance.now() - t0;
      if (seq.finishReason) break;
      if (o.yieldBetweenSteps) await o.yieldBetweenSteps();
      if (seq.checkCanceled()) break;
      logits = await o.source.step(id);
    }
  }
  const text = seq.finish();
  return {
    text,
    finishReason: seq.finishReason ?? 'stop',
    outputTokenIds: seq.generated,
    seed: seq.seed,
    timings: timingsOf(t0, prefillMs, firstTokenMs, seq.generated.length),
  };
}
