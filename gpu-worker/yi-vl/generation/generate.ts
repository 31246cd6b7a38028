// The decode loop, independent of how logits are computed: prefill once, then one token per step, with the
// logits processors, sampler, stopping criteria and streamer of this folder.
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { applyProcessors, buildLogitsProcessors } from './logits-processors.ts';
import type { GenerationParams } from './params.ts';
import { GreedySampler, MultinomialSampler, type Sampler } from './sampler.ts';
import {
  ContextLimitCriterion,
  EosCriterion,
  type FinishReason,
  MaxNewTokensCriterion,
  StoppingCriteria,
  StopStringCriterion,
} from './stopping-criteria.ts';
import { type TextCallback, TextStreamer } from './streamer.ts';

/** Something that turns the prompt, then one token at a time, into next-token logits. */
export interface LogitsSource {
  /** Logits at the last prompt position. */
  prefill(): Promise<Float32Array>;
  /** Feeds one token; logits for the position after it. */
  step(tokenId: number): Promise<Float32Array>;
}

export interface GenerateOptions {
  source: LogitsSource;
  tokenizer: SentencePieceTokenizer;
  /** Prompt text ids without the image index (used by the repetition penalty). */
  promptTextIds: readonly number[];
  /** Decoder positions the prompt occupies (text ids − placeholders + image rows). */
  promptPositions: number;
  /** Largest number of positions available (KV buffer / RoPE table). */
  maxPositions: number;
  params: Required<Omit<GenerationParams, 'seed'>> & { seed?: number };
  eosIds: readonly number[];
  signal?: AbortSignal;
  onText?: TextCallback;
  /** Called with the prefill logits (e.g. for --logits-out) before any processor touches them. */
  onPrefillLogits?: (logits: Float32Array) => void;
  /** Yields to the event loop between steps so that cancellation messages are seen. */
  yieldBetweenSteps?: () => Promise<void>;
}

export interface GenerateResult {
  text: string;
  finishReason: FinishReason;
  outputTokenIds: number[];
  seed: number | null;
  timings: { prefillMs: number; decodeMs: number; firstTokenMs: number; tokensPerSecond: number };
}

export function makeSampler(params: GenerateOptions['params']): { sampler: Sampler; seed: number | null } {
  if (params.temperature === 0) return { sampler: new GreedySampler(), seed: null };
  const seed = params.seed ?? Math.floor(Math.random() * 2 ** 32);
  return { sampler: new MultinomialSampler(seed), seed };
}

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const { sampler, seed } = makeSampler(o.params);
  const sampling = sampler.kind === 'sample';
  const processors = buildLogitsProcessors(o.params, sampling);
  const eos = new Set(o.eosIds);
  const criteria = new StoppingCriteria(
    [
      new EosCriterion(eos),
      new StopStringCriterion(),
      new MaxNewTokensCriterion(o.params.maxNewTokens),
      new ContextLimitCriterion(o.maxPositions),
    ],
    o.signal,
  );
  const streamer = new TextStreamer(o.tokenizer, o.onText);
  const seen = [...o.promptTextIds];
  const generated: number[] = [];
  const t0 = performance.now();
  let finishReason: FinishReason | null = null;
  let prefillMs = 0;
  let firstTokenMs = 0;

  if (criteria.canceled) finishReason = 'canceled';
  else if (o.promptPositions >= o.maxPositions) finishReason = 'length';
  let logits: Float32Array | null = null;
  if (!finishReason) {
    logits = await o.source.prefill();
    prefillMs = performance.now() - t0;
    o.onPrefillLogits?.(logits);
  }
  while (!finishReason && logits) {
    // Ids the tokenizer cannot decode (a padded embedding table) are never chosen.
    const row = logits.slice(0, o.tokenizer.vocabSize);
    applyProcessors(processors, seen, row);
    const id = sampler.choose(row);
    generated.push(id);
    seen.push(id);
    if (generated.length === 1) firstTokenMs = performance.now() - t0;
    if (!eos.has(id)) streamer.push(id);
    finishReason = criteria.check({
      generated,
      text: streamer.text,
      contextUsed: o.promptPositions + generated.length,
    });
    if (finishReason) break;
    if (o.yieldBetweenSteps) await o.yieldBetweenSteps();
    if (criteria.canceled) {
      finishReason = 'canceled';
      break;
    }
    logits = await o.source.step(id);
  }
  streamer.end();
  const total = performance.now() - t0;
  const decodeMs = total - prefillMs;
  return {
    text: streamer.finalText,
    finishReason: finishReason ?? 'stop',
    outputTokenIds: generated,
    seed,
    timings: {
      prefillMs,
      decodeMs,
      firstTokenMs,
      tokensPerSecond: generated.length > 1 && decodeMs > 0 ? ((generated.length - 1) * 1000) / decodeMs : 0,
    },
  };
}
