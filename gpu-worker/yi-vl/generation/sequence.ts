// The per-sequence half of the decode loop: processors, sampler, stopping criteria and streamer of one answer, fed
// one logits row at a time. `generate()` drives one of these; the batch decoder drives one per row, so a row in a
// batch makes exactly the choices it would make alone.
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import {
  applyProcessors,
  buildLogitsProcessors,
  type LogitsProcessor,
  RepetitionPenaltyProcessor,
} from './logits-processors.ts';
import type { GenerationParams } from './params.ts';
import { GreedySampler, MultinomialSampler, type Sampler } from './sampler.ts';
import {
  ContextLimitCriterion,
  EosCriterion,
  type FinishReason,
  MaxNewTokensCriterion,
  STOP_STRING,
  StoppingCriteria,
  StopStringCriterion,
} from './stopping-criteria.ts';
import { type TextCallback, TextStreamer } from './streamer.ts';

export type ResolvedParams = Required<Omit<GenerationParams, 'seed'>> & { seed?: number };

/**
 * A per-sequence restriction of the next token (such as a grammar): called on each logits row after the repetition
 * penalty and before the sampling warpers (temperature → top-k → top-p) and the sampler, it sets the logits of the
 * ids it forbids to −Infinity, so the warpers only ever see allowed ids (top-k before the mask could leave none).
 * Each sequence has its own, so rows with and without one can share a batch.
 */
export interface LogitsMask {
  /** `generated`: the ids this sequence has chosen so far. */
  apply(generated: readonly number[], logits: Float32Array): void;
  /**
   * Present when the mask decides where the answer ends (a grammar): told every chosen id, it returns true when that
   * id ended the answer, which then finishes with `stop` and leaves the id out of the text. Such a sequence does not
   * look for the stop string in its text (it may be part of the answer, such as "###" inside a JSON string), and its
   * final text is trimmed, not cut there. EOS ends it only through the mask.
   */
  accept?(id: number): boolean;
}

export interface SequenceOptions {
  tokenizer: SentencePieceTokenizer;
  /** Prompt text ids without the image index (used by the repetition penalty). */
  promptTextIds: readonly number[];
  /** Decoder positions the prompt occupies (text ids − placeholders + image rows). */
  promptPositions: number;
  /** Largest number of positions available (KV buffer / RoPE table). */
  maxPositions: number;
  params: ResolvedParams;
  eosIds: readonly number[];
  signal?: AbortSignal;
  onText?: TextCallback;
  logitsMask?: LogitsMask;
}

export function makeSampler(params: ResolvedParams): { sampler: Sampler; seed: number | null } {
  if (params.temperature === 0) return { sampler: new GreedySampler(), seed: null };
  const seed = params.seed ?? Math.floor(Math.random() * 2 ** 32);
  return { sampler: new MultinomialSampler(seed), seed };
}

export class SequenceState {
  readonly generated: number[] = [];
  readonly seed: number | null;
  finishReason: FinishReason | null = null;
  private readonly sampler: Sampler;
  /** the repetition penalty (if any): before the mask */
  private readonly penalty: LogitsProcessor[];
  /** temperature / top-k / top-p (when sampling): after the mask */
  private readonly warpers: LogitsProcessor[];
  private readonly eos: ReadonlySet<number>;
  private readonly criteria: StoppingCriteria;
  private readonly streamer: TextStreamer;
  private readonly seen: number[];
  private readonly vocab: number;
  private ended = false;

  constructor(private readonly o: SequenceOptions) {
    const { sampler, seed } = makeSampler(o.params);
    this.sampler = sampler;
    this.seed = seed;
    const processors = buildLogitsProcessors(o.params, sampler.kind === 'sample');
    this.penalty = processors.filter((p) => p instanceof RepetitionPenaltyProcessor);
    this.warpers = processors.filter((p) => !(p instanceof RepetitionPenaltyProcessor));
    this.eos = new Set(o.eosIds);
    // a mask that decides where the answer ends replaces the EOS and stop-string checks
    const masked = o.logitsMask?.accept !== undefined;
    this.criteria = new StoppingCriteria(
      [
        ...(masked ? [] : [new EosCriterion(this.eos), new StopStringCriterion()]),
        new MaxNewTokensCriterion(o.params.maxNewTokens),
        new ContextLimitCriterion(o.maxPositions),
      ],
      o.signal,
    );
    this.streamer = new TextStreamer(o.tokenizer, o.onText, masked ? null : STOP_STRING);
    this.seen = [...o.promptTextIds];
    this.vocab = o.tokenizer.vocabSize;
    if (this.criteria.canceled) this.finishReason = 'canceled';
    else if (o.promptPositions >= o.maxPositions) this.finishReason = 'length';
  }

  get canceled(): boolean {
    return this.criteria.canceled;
  }

  /**
   * Chooses the next token from one row of logits (only the first `vocab` values are read; the row is copied, so
   * a view into a batched output is fine). Returns the id, and sets `finishReason` when the answer is complete.
   */
  accept(logits: Float32Array): number {
    // Ids the tokenizer cannot decode (a padded embedding table) are never chosen. The row is only written to
    // through a copy: `logits` may be a view into a batched output.
    const mask = this.o.logitsMask;
    const copy = this.penalty.length > 0 || this.warpers.length > 0 || mask;
    const row = copy ? logits.slice(0, this.vocab) : logits.subarray(0, this.vocab);
    applyProcessors(this.penalty, this.seen, row);
    mask?.apply(this.generated, row);
    applyProcessors(this.warpers, this.seen, row);
    const id = this.sampler.choose(row);
    this.record(id);
    return id;
  }

  /** The ids the repetition penalty applies to: the prompt text, then every id generated. */
  get seenIds(): readonly number[] {
    return this.seen;
  }

  /** Most tokens still to come: the last one max_new_tokens or the context allows ends the answer ('length'). */
  get remainingTokens(): number {
    const { maxNewTokens } = this.o.params;
    return Math.max(0, Math.min(maxNewTokens, this.o.maxPositions - this.o.promptPositions) - this.generated.length);
  }

  /**
   * The uniforms of the next `n` sampled choices (none for greedy decoding) from this sequence's seeded stream: a
   * decoder that draws with them and this sequence's parameters makes the choices `accept` would. Each choice it
   * makes is then passed to `acceptChosen`, which uses one up; the rest stay for the following choices.
   */
  nextUniforms(n: number): Float64Array | undefined {
    return this.sampler instanceof MultinomialSampler ? this.sampler.peekUniforms(n) : undefined;
  }

  /**
   * Takes a token chosen outside (the in-graph decode loop, with this sequence's parameters, seen ids and
   * uniforms) as `accept` takes its own choice: stopping criteria, streamer. Sets `finishReason` when complete.
   */
  acceptChosen(id: number): void {
    if (this.finishReason) throw new Error('the sequence has already finished');
    if (this.sampler instanceof MultinomialSampler) this.sampler.skip();
    this.record(id);
  }

  private record(id: number): void {
    this.generated.push(id);
    this.seen.push(id);
    const ended = this.o.logitsMask?.accept?.(id) === true;
    if (!ended && !this.eos.has(id)) this.streamer.push(id);
    this.finishReason = ended
      ? 'stop'
      : this.criteria.check({
          generated: this.generated,
          text: this.streamer.text,
          contextUsed: this.o.promptPositions + this.generated.length,
        });
  }

  /** Marks a sequence canceled when its signal fired between steps; true if it did. */
  checkCanceled(): boolean {
    if (!this.finishReason && this.criteria.canceled) this.finishReason = 'canceled';
    return this.finishReason === 'canceled';
  }

  /** Flushes the streamer once; returns the final answer text. */
  finish(): string {
    if (!this.ended) {
      this.streamer.end();
      this.ended = true;
    }
    return this.streamer.finalText;
  }
}
