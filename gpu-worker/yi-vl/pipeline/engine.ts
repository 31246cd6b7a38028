// The Yi-VL pipeline on onnxruntime sessions, in the calling thread: pixels → vision → embed → splice the image rows
// at the placeholder → prefill → KV-cached decode. The worker thread (model-thread.ts) hosts one of these.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { generate, type LogitsSource } from '../generation/generate.ts';
import { eosIdsOf, type GenerationConfigJson, type GenerationParams, resolveParams } from '../generation/params.ts';
import type { TextCallback } from '../generation/streamer.ts';
import { IMAGE_SIZE, normalizeRgbToNchw } from '../preprocess/clip-normalize.ts';
import { renderPrompt, type Turn } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from '../template/prompt-ids.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { ImageFeatureCache } from './image-feature-cache.ts';
import { type ModelManifest, readGenerationConfig, readManifest } from './manifest.ts';
import { createSessions, type ModelSessions, type ProviderReport, type SessionOptions } from './sessions.ts';

export interface EngineInput {
  /** 448×448×3 RGB bytes, HWC */
  rgb: Uint8Array;
  question: string;
  history?: readonly Turn[];
  params?: Partial<GenerationParams>;
  /** keep the float32 logits at the last prompt position in the result */
  returnPrefillLogits?: boolean;
}

export interface EngineResult {
  text: string;
  finish_reason: 'stop' | 'length' | 'canceled';
  prompt_tokens: number;
  image_tokens: number;
  completion_tokens: number;
  prompt_token_ids: number[];
  output_token_ids: number[];
  seed: number | null;
  /** the image features came from the cache (a follow-up on the same image) */
  image_cache_hit: boolean;
  timings: {
    preprocess_ms: number;
    vision_ms: number;
    embed_ms: number;
    prefill_ms: number;
    first_token_ms: number;
    decode_ms: number;
    total_ms: number;
    tokens_per_second: number;
  };
  prefill_logits?: Float32Array;
}

export interface StartupReport extends ProviderReport {
  modelDir: string;
  dtype: ModelManifest['dtype'];
  computeDtype: ModelManifest['computeDtype'];
  tokenizerSha256: string;
  knownTokenizer: boolean;
  eosIds: number[];
  loadMs: number;
}

export class PromptTooLongError extends Error {
  override name = 'PromptTooLongError';
}

export interface EngineOptions extends SessionOptions {
  /** tokenizer.model to use when the model folder has none (default: the bundled Yi tokenizer) */
  tokenizerPath?: string;
  /** images whose projected features are kept for follow-up questions (default 4; 0 disables) */
  imageCacheSize?: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class YiVlEngine {
  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly tokenizer: SentencePieceTokenizer,
    readonly generationConfig: GenerationConfigJson,
    private readonly sessions: ModelSessions,
    readonly startup: StartupReport,
    private readonly imageCache: ImageFeatureCache,
  ) {}

  static async load(dir: string, opts: EngineOptions = {}): Promise<YiVlEngine> {
    const t0 = performance.now();
    const manifest = readManifest(dir);
    const inDir = join(dir, 'tokenizer.model');
    const { tokenizer, knownFile } = loadYiTokenizer(existsSync(inDir) ? inDir : opts.tokenizerPath);
    if (tokenizer.vocabSize > manifest.dims.llm.vocabSize) {
      throw new Error(`tokenizer has ${tokenizer.vocabSize} pieces but the model only ${manifest.dims.llm.vocabSize}`);
    }
    const generationConfig = readGenerationConfig(dir, manifest);
    const sessions = await createSessions(dir, manifest, opts);
    const startup: StartupReport = {
      ...sessions.report,
      modelDir: dir,
      dtype: manifest.dtype,
      computeDtype: manifest.computeDtype,
      tokenizerSha256: tokenizer.sha256,
      knownTokenizer: knownFile,
      eosIds: eosIdsOf(generationConfig, manifest.tokens.eos),
      loadMs: performance.now() - t0,
    };
    const cache = new ImageFeatureCache(opts.imageCacheSize ?? 4);
    return new YiVlEngine(dir, manifest, tokenizer, generationConfig, sessions, startup, cache);
  }

  async close(): Promise<void> {
    await this.sessions.release();
  }

  /** The prompt ids (image as −200) for a conversation; throws TemplateError for a bad question. */
  promptIds(question: string, history?: readonly Turn[]): number[] {
    return tokenizeWithImage(this.tokenizer, renderPrompt({ question, ...(history ? { history } : {}) }));
  }

  async analyze(input: EngineInput, run: { signal?: AbortSignal; onText?: TextCallback } = {}): Promise<EngineResult> {
    const t0 = performance.now();
    const m = this.manifest;
    const H = m.dims.llm.hiddenSize;
    const imageRows = m.dims.imageTokens;
    const params = resolveParams(input.params ?? {}, this.generationConfig);
    const promptIds = this.promptIds(input.question, input.history);
    const textIds = promptIds.filter((id) => id !== IMAGE_TOKEN_INDEX);
    const at = promptIds.indexOf(IMAGE_TOKEN_INDEX);
    if (at < 0 || promptIds.lastIndexOf(IMAGE_TOKEN_INDEX) !== at)
      throw new Error('exactly one image placeholder expected');
    const positions = textIds.length + imageRows;
    const limit = m.dims.llm.maxPositionEmbeddings;
    if (positions >= limit) {
      throw new PromptTooLongError(
        `prompt needs ${positions} positions (text ${textIds.length} + image ${imageRows}); the model has ${limit}`,
      );
    }
    const maxLength = Math.min(limit, positions + params.maxNewTokens);

    const base = {
      text: '',
      prompt_tokens: textIds.length,
      image_tokens: imageRows,
      prompt_token_ids: promptIds,
    };
    const timings = { preprocess_ms: 0, vision_ms: 0, embed_ms: 0 };
    const canceled = (): EngineResult => ({
      ...base,
      finish_reason: 'canceled',
      image_cache_hit: false,
      completion_tokens: 0,
      output_token_ids: [],
      seed: params.seed ?? null,
      timings: {
        ...timings,
        prefill_ms: 0,
        first_token_ms: 0,
        decode_ms: 0,
        total_ms: performance.now() - t0,
        tokens_per_second: 0,
      },
    });
    if (run.signal?.aborted) return canceled();

    let t = performance.now();
    const cacheKey = ImageFeatureCache.key(input.rgb);
    let image = this.imageCache.get(cacheKey);
    const imageCacheHit = image !== undefined;
    if (!image) {
      const pixels = normalizeRgbToNchw(input.rgb);
      timings.preprocess_ms = performance.now() - t;
      t = performance.now();
      const vis = await this.sessions.vision.run({
        pixel_values: new ort.Tensor('float32', pixels, [1, 3, IMAGE_SIZE, IMAGE_SIZE]),
      });
      image = vis.image_features!.data as Float32Array;
      timings.vision_ms = performance.now() - t;
      if (image.length !== imageRows * H) {
        throw new Error(`vision output has ${image.length} values, expected ${imageRows * H}`);
      }
      this.imageCache.set(cacheKey, image);
    }
    await yieldToEventLoop();
    if (run.signal?.aborted) return canceled();

    t = performance.now();
    const text = await this.embed(textIds);
    const spliced = new Float32Array(positions * H);
    spliced.set(text.subarray(0, at * H), 0);
    spliced.set(image, at * H);
    spliced.set(text.subarray(at * H), (at + imageRows) * H);
    timings.embed_ms = performance.now() - t;

    const source = this.decoderSource(spliced, positions, maxLength);
    let prefillLogits: Float32Array | undefined;
    const g = await generate({
      source,
      tokenizer: this.tokenizer,
      promptTextIds: textIds,
      promptPositions: positions,
      maxPositions: maxLength,
      params,
      eosIds: this.startup.eosIds,
      yieldBetweenSteps: yieldToEventLoop,
      ...(run.signal ? { signal: run.signal } : {}),
      ...(run.onText ? { onText: run.onText } : {}),
      ...(input.returnPrefillLogits
        ? { onPrefillLogits: (l: Float32Array) => (prefillLogits = Float32Array.from(l)) }
        : {}),
    });
    return {
      ...base,
      text: g.text,
      finish_reason: g.finishReason,
      image_cache_hit: imageCacheHit,
      completion_tokens: g.outputTokenIds.length,
      output_token_ids: g.outputTokenIds,
      seed: g.seed,
      timings: {
        ...timings,
        prefill_ms: g.timings.prefillMs,
        first_token_ms: g.timings.firstTokenMs,
        decode_ms: g.timings.decodeMs,
        total_ms: performance.now() - t0,
        tokens_per_second: g.timings.tokensPerSecond,
      },
      ...(prefillLogits ? { prefill_logits: prefillLogits } : {}),
    };
  }

  private async embed(ids: readonly number[]): Promise<Float32Array> {
    const out = await this.sessions.embed.run({
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [1, ids.length],
      ),
    });
    return out.inputs_embeds!.data as Float32Array;
  }

  /** Prefill + one-token steps over a fixed-size shared KV buffer (docs/model-format.md). */
  private decoderSource(spliced: Float32Array, positions: number, maxLength: number): LogitsSource {
    const { numLayers, numKvHeads, headDim, hiddenSize: H } = this.manifest.dims.llm;
    const fp16 = this.manifest.computeDtype === 'float16';
    const kvShape = [1, numKvHeads, maxLength, headDim];
    const kvSize = numKvHeads * maxLength * headDim;
    let past: Record<string, ort.Tensor> = {};
    for (let l = 0; l < numLayers; l++) {
      for (const kind of ['key', 'value']) {
        past[`past_key_values.${l}.${kind}`] = fp16
          ? new ort.Tensor('float16', new Uint16Array(kvSize), kvShape)
          : new ort.Tensor('float32', new Float32Array(kvSize), kvShape);
      }
    }
    let length = 0;
    const run = async (embeds: Float32Array, n: number): Promise<Float32Array> => {
      const total = length + n;
      const out = await this.sessions.decoder.run({
        inputs_embeds: new ort.Tensor('float32', embeds, [1, n, H]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        ...past,
      });
      const next: Record<string, ort.Tensor> = {};
      for (let l = 0; l < numLayers; l++) {
        for (const kind of ['key', 'value']) next[`past_key_values.${l}.${kind}`] = out[`present.${l}.${kind}`]!;
      }
      past = next;
      length = total;
      return out.logits!.data as Float32Array;
    };
    return {
      prefill: () => run(spliced, positions),
      step: async (id) => run(await this.embed([id]), 1),
    };
  }
}
