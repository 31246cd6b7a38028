// One request in a decoding batch, from its prompt to its result: the prompt ids and their position budget; the
// prefill (text embeddings with the image features spliced in at the placeholder, reusing the system-prompt KV
// when it matches); then one `step(logits)` per decode run, where the row's own SequenceState chooses the token
// (repetition penalty → optional logits mask → warpers → sampler → stopping criteria → streamer), so a row makes
// exactly the choices it would make alone; and the result. The KV rows it decodes into belong to the batch. A row
// with a mask (a grammar: response_format) awaits `prepareChoice()` before each choice and frees the mask when it
// settles.
import { timingsOf } from '../generation/generate.ts';
import { resolveParams } from '../generation/params.ts';
import { type LogitsMask, type ResolvedParams, SequenceState } from '../generation/sequence.ts';
import { renderPrompt, type Turn } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from '../template/prompt-ids.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import type { DecoderDriver } from './decoder-driver.ts';
import {
  type BatchItem,
  type EngineInput,
  type EngineResult,
  type EngineRun,
  PromptTooLongError,
} from './engine-types.ts';
import { KvCache, type KvLayout } from './kv-cache.ts';
import type { LoopRow } from './loop-decoder.ts';
import type { ModelManifest } from './manifest.ts';
import type { PrefixCache } from './prefix-cache.ts';
import type { TokenEmbedder } from './token-embedder.ts';
import type { EncodedImage } from './vision-encoder.ts';

/** What a row needs of the loaded model. */
export interface RowModel {
  readonly dims: ModelManifest['dims'];
  readonly tokenizer: SentencePieceTokenizer;
  readonly eosIds: readonly number[];
  readonly kvLayout: KvLayout;
  readonly driver: DecoderDriver;
  readonly embedder: TokenEmbedder;
  /** the system-prompt KV (null: every prompt is prefilled in full) */
  readonly prefix: PrefixCache | null;
}

/** The prompt ids (image as −200) for a conversation; throws TemplateError for a bad question. */
export function promptIdsOf(tokenizer: SentencePieceTokenizer, question: string, history?: readonly Turn[]): number[] {
  return tokenizeWithImage(tokenizer, renderPrompt({ question, ...(history ? { history } : {}) }));
}

/** A row's logits mask, with the per-choice preparation and the lifetime a grammar needs. */
export interface RowMask extends LogitsMask {
  /** readies the mask for the next choice (a grammar computes its token bitmask); awaited before every choice */
  prepare?(): Promise<void>;
  /** frees what the mask holds; called once, when the row settles */
  dispose?(): void;
}

export interface RowOptions {
  /** restricts this row's choices (applied after its repetition penalty, before its warpers and sampler) */
  logitsMask?: RowMask;
}

export class GenerationRow {
  readonly input: EngineInput;
  private readonly run: EngineRun;
  private readonly params: ResolvedParams;
  private readonly promptIds: number[];
  /** promptIds without the image placeholder */
  private readonly textIds: number[];
  /** index of the image placeholder in promptIds = text positions before the image */
  private readonly at: number;
  /** decoder positions of the spliced prompt */
  private readonly positions: number;
  /** positions this row may need: prompt + max new tokens, within the model's context */
  readonly maxLength: number;
  private readonly timings = { preprocess_ms: 0, vision_ms: 0, embed_ms: 0, prefill_ms: 0, first_token_ms: 0 };
  private imageCacheHit = false;
  private prefixHit = false;
  /** rows decoding together when this one started decoding */
  batchSize = 1;
  private image?: Float32Array;
  private seq?: SequenceState;
  private tGen?: number;
  private prefillLogits?: Float32Array;
  private kvLength = 0;
  private last?: number;
  private released = false;

  /**
   * Resolves the parameters and the prompt; throws for bad parameters, a bad question or a prompt that does not fit
   * the model's context (PromptTooLongError), before any model call.
   */
  constructor(
    readonly index: number,
    item: BatchItem,
    /** when the batch that brought this row started */
    private readonly t0: number,
    private readonly model: RowModel,
    private readonly options: RowOptions = {},
  ) {
    this.input = item.input;
    this.run = item.run ?? {};
    const { dims } = model;
    this.params = resolveParams(this.input.params ?? {});
    this.promptIds = promptIdsOf(model.tokenizer, this.input.question, this.input.history);
    this.textIds = this.promptIds.filter((id) => id !== IMAGE_TOKEN_INDEX);
    this.at = this.promptIds.indexOf(IMAGE_TOKEN_INDEX);
    if (this.at < 0 || this.promptIds.lastIndexOf(IMAGE_TOKEN_INDEX) !== this.at)
      throw new Error('exactly one image placeholder expected');
    this.positions = this.textIds.length + dims.imageTokens;
    const limit = dims.llm.maxPositionEmbeddings;
    if (this.positions >= limit) {
      throw new PromptTooLongError(
        `prompt needs ${this.positions} positions (text ${this.textIds.length} + image ${dims.imageTokens}); the model has ${limit}`,
      );
    }
    this.maxLength = Math.min(limit, this.positions + this.params.maxNewTokens);
  }

  /**
   * Each of this row's choices needs its own JS step (its logits mask is computed per token from the tokens so far),
   * so a decode strategy that chooses several tokens per decoder call elsewhere cannot serve it.
   */
  get needsPerStepDecision(): boolean {
    return this.options.logitsMask !== undefined;
  }

  /** Readies the row's mask for its next choice (nothing to do for a row without one). */
  async prepareChoice(): Promise<void> {
    await this.options.logitsMask?.prepare?.();
  }

  /** Frees the row's mask; called when the row settles (result, canceled, failed). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.options.logitsMask?.dispose?.();
  }

  /** the request's signal has fired */
  get aborted(): boolean {
    return this.run.signal?.aborted === true;
  }

  /** positions in this row's KV */
  get length(): number {
    return this.kvLength;
  }

  /** the token chosen last, not yet in the KV: the next decode run's input */
  get lastToken(): number {
    return this.last!;
  }

  setImage(image: EncodedImage): void {
    this.image = image.features;
    this.imageCacheHit = image.cacheHit;
    if (!image.cacheHit) {
      this.timings.preprocess_ms = image.preprocessMs;
      this.timings.vision_ms = image.visionMs;
    }
  }

  /** Embeds and splices the prompt, prefills it into a fresh batch-1 cache and chooses the first token. */
  async prefill(maxLength: number): Promise<KvCache> {
    const { dims, driver, embedder } = this.model;
    const H = dims.llm.hiddenSize;
    const at = this.at;
    let t = performance.now();
    const text = await embedder.run(this.textIds);
    const spliced = new Float32Array(this.positions * H);
    spliced.set(text.subarray(0, at * H), 0);
    spliced.set(this.image!, at * H);
    spliced.set(text.subarray(at * H), (at + dims.imageTokens) * H);
    this.timings.embed_ms = performance.now() - t;

    t = performance.now();
    this.tGen = t;
    this.seq = new SequenceState({
      tokenizer: this.model.tokenizer,
      promptTextIds: this.textIds,
      promptPositions: this.positions,
      maxPositions: this.maxLength,
      params: this.params,
      eosIds: this.model.eosIds,
      ...(this.run.signal ? { signal: this.run.signal } : {}),
      ...(this.run.onText ? { onText: this.run.onText } : {}),
      ...(this.options.logitsMask ? { logitsMask: this.options.logitsMask } : {}),
    });
    const prefix = this.model.prefix?.matches(this.promptIds, at) ? this.model.prefix : null;
    let cache: KvCache;
    let logits: Float32Array;
    if (prefix) {
      cache = prefix.seed(maxLength);
      logits = await driver.run(cache, spliced.subarray(at * H), this.positions - at, [at]);
      this.prefixHit = true;
    } else {
      cache = new KvCache(this.model.kvLayout, 1, maxLength);
      logits = await driver.run(cache, spliced, this.positions, [0]);
    }
    this.kvLength = this.positions;
    this.timings.prefill_ms = performance.now() - t;
    if (this.input.returnPrefillLogits) this.prefillLogits = logits.slice(0, dims.llm.vocabSize);
    await this.prepareChoice();
    this.last = this.seq.accept(logits);
    this.timings.first_token_ms = performance.now() - t;
    return cache;
  }

  /** The answer is complete (after the prefill's first token or a step). */
  get finished(): boolean {
    return this.seq!.finishReason !== null;
  }

  /** Whether the row is done: finished, or its signal fired since the last step (it then finishes as canceled). */
  finishedOrCanceled(): boolean {
    return this.finished || this.seq!.checkCanceled();
  }

  /**
   * Takes the logits for the position of `lastToken` (now in the KV) and chooses the next token; `prepareChoice()`
   * must have settled since the previous choice.
   */
  step(logits: Float32Array): void {
    this.kvLength += 1;
    this.last = this.seq!.accept(logits);
  }

  /**
   * The row's part of an in-graph loop run of up to `steps` tokens: its budget (never past what its max_new_tokens
   * or context allows), parameters, seen ids and the uniforms of its next draws from its own seeded stream.
   */
  loopRow(steps: number): LoopRow {
    const seq = this.seq!;
    const budget = Math.min(steps, seq.remainingTokens);
    const { temperature, topK, topP, repetitionPenalty } = this.params;
    const uniforms = seq.nextUniforms(budget);
    return {
      lastId: this.last!,
      length: this.kvLength,
      budget,
      temperature,
      topK,
      topP,
      repetitionPenalty,
      ...(uniforms ? { uniforms } : {}),
      seen: seq.seenIds,
    };
  }

  /**
   * Takes the tokens an in-graph loop run made for this row, one at a time as `step` would (each was fed in turn,
   * so the KV grows by one per token); tokens after the row's end (a stop string) are dropped.
   */
  takeTokens(ids: readonly number[]): void {
    for (const id of ids) {
      if (this.finished) return;
      this.kvLength += 1;
      this.last = id;
      this.seq!.acceptChosen(id);
    }
  }

  /** The result of a row that was prefilled. */
  result(): EngineResult {
    this.release();
    const seq = this.seq!;
    const text = seq.finish();
    const g = timingsOf(this.tGen!, this.timings.prefill_ms, this.timings.first_token_ms, seq.generated.length);
    return {
      ...this.base(),
      text,
      finish_reason: seq.finishReason ?? 'stop',
      image_cache_hit: this.imageCacheHit,
      prefix_cache_hit: this.prefixHit,
      batch_size: this.batchSize,
      completion_tokens: seq.generated.length,
      output_token_ids: seq.generated,
      seed: seq.seed,
      timings: {
        ...this.timings,
        decode_ms: g.decodeMs,
        total_ms: performance.now() - this.t0,
        tokens_per_second: g.tokensPerSecond,
      },
      ...(this.prefillLogits ? { prefill_logits: this.prefillLogits } : {}),
    };
  }

  /** The result of a row canceled before its prefill. */
  canceledResult(): EngineResult {
    this.release();
    return {
      ...this.base(),
      text: '',
      finish_reason: 'canceled',
      image_cache_hit: false,
      prefix_cache_hit: false,
      batch_size: 1,
      completion_tokens: 0,
      output_token_ids: [],
      seed: this.params.seed ?? null,
      timings: {
        ...this.timings,
        prefill_ms: 0,
        first_token_ms: 0,
        decode_ms: 0,
        total_ms: performance.now() - this.t0,
        tokens_per_second: 0,
      },
    };
  }

  private base() {
    return {
      prompt_tokens: this.textIds.length,
      image_tokens: this.model.dims.imageTokens,
      prompt_token_ids: this.promptIds,
    };
  }
}
