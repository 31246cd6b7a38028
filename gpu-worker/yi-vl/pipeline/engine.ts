// The Yi-VL pipeline on onnxruntime sessions, in the calling thread: pixels → vision → embed → splice the image rows
// at the placeholder → prefill → KV-cached decode. The worker thread (model-thread.ts) hosts one of these.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { ContextTooLongError } from '../../analyzer-errors.ts';
import { timingsOf } from '../generation/generate.ts';
import { eosIdsOf, type GenerationConfigJson, type GenerationParams, resolveParams } from '../generation/params.ts';
import { type ResolvedParams, SequenceState } from '../generation/sequence.ts';
import type { TextCallback } from '../generation/streamer.ts';
import { IMAGE_SIZE, normalizeRgbToNchw } from '../preprocess/clip-normalize.ts';
import { renderPrompt, type Turn } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX, tokenizeWithImage } from '../template/prompt-ids.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { DecoderDriver } from './decoder-driver.ts';
import { EmbeddingTable } from './embedding-table.ts';
import { ImageFeatureCache } from './image-feature-cache.ts';
import { KvCache, type KvLayout, kvLayoutOf } from './kv-cache.ts';
import { KvDownloader } from './kv-downloader.ts';
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
  /** the system-prompt KV computed at load was reused (only the rest of the prompt was prefilled) */
  prefix_cache_hit: boolean;
  /** answers decoding together when this one started decoding (1 = alone) */
  batch_size: number;
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

export class PromptTooLongError extends ContextTooLongError {
  override name = 'PromptTooLongError';
}

export interface EngineOptions extends SessionOptions {
  /** tokenizer.model to use when the model folder has none (default: the bundled Yi tokenizer) */
  tokenizerPath?: string;
  /** images whose projected features are kept for follow-up questions (default 4; 0 disables) */
  imageCacheSize?: number;
  /** compute the system-prompt KV once at load and prefill only the rest of each prompt (default true) */
  prefixCache?: boolean;
  /**
   * most images per vision-tower call when a batch brings several new images (default 4 on CUDA, 1 on the CPU EP,
   * where batching measured slower: docs/performance.md)
   */
  visionBatch?: number;
  /** most requests the model thread decodes together (default 4; 1 = one at a time) */
  maxBatch?: number;
}

export interface EngineRun {
  signal?: AbortSignal;
  onText?: TextCallback;
}

export interface BatchItem {
  input: EngineInput;
  run?: EngineRun;
}

export interface BatchOptions {
  /** called as each item settles, so a short answer need not wait for the rest of its batch */
  onSettled?: (index: number, result: PromiseSettledResult<EngineResult>) => void;
  /** asked between decode steps for up to `room` more items to join the running batch (continuous batching) */
  admit?: (room: number) => BatchItem[];
  /** most rows decoding at once (default: unlimited) */
  maxRows?: number;
}

/** One request's state inside analyzeBatch. */
interface Job {
  index: number;
  input: EngineInput;
  run: EngineRun;
  t0: number;
  params: ResolvedParams;
  promptIds: number[];
  textIds: number[];
  /** index of the image placeholder in promptIds = text positions before the image */
  at: number;
  positions: number;
  maxLength: number;
  timings: { preprocess_ms: number; vision_ms: number; embed_ms: number; prefill_ms: number; first_token_ms: number };
  imageCacheHit: boolean;
  prefixHit: boolean;
  batchSize: number;
  image?: Float32Array;
  seq?: SequenceState;
  tGen?: number;
  /** positions in this job's KV cache */
  length: number;
  lastId?: number;
  prefillLogits?: Float32Array;
}

interface Row {
  job: Job;
  cache: KvCache;
}

function sameIds(a: readonly number[], b: readonly number[], n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class YiVlEngine {
  private readonly driver: DecoderDriver;
  private readonly kvLayout: KvLayout;
  private readonly visionBatch: number;
  private prefix: { ids: number[]; cache: KvCache } | null = null;
  /** decode-step embeddings without a session.run (null: use the embed_tokens session) */
  private readonly table: EmbeddingTable | null;

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly tokenizer: SentencePieceTokenizer,
    readonly generationConfig: GenerationConfigJson,
    private readonly sessions: ModelSessions,
    readonly startup: StartupReport,
    private readonly imageCache: ImageFeatureCache,
    /** present on the WebGPU EP, where caches live on the device between steps */
    private readonly downloader: KvDownloader | null,
    opts: EngineOptions,
  ) {
    const llm = manifest.dims.llm;
    this.driver = new DecoderDriver(sessions.decoder, llm.hiddenSize, llm.vocabSize, downloader !== null);
    this.kvLayout = kvLayoutOf(manifest);
    this.visionBatch = Math.max(1, opts.visionBatch ?? (sessions.report.provider === 'cuda' ? 4 : 1));
    this.table = EmbeddingTable.open(dir, manifest.graphs.embedTokens.file, llm.vocabSize, llm.hiddenSize);
  }

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
    let downloader: KvDownloader | null = null;
    try {
      if (sessions.report.provider === 'webgpu') {
        downloader = await KvDownloader.create(kvLayoutOf(manifest), ['webgpu']);
      }
    } catch (err) {
      await sessions.release();
      throw err;
    }
    const engine = new YiVlEngine(
      dir,
      manifest,
      tokenizer,
      generationConfig,
      sessions,
      startup,
      cache,
      downloader,
      opts,
    );
    try {
      if (opts.prefixCache ?? true) await engine.computePrefix();
    } catch (err) {
      await engine.close();
      throw err;
    }
    startup.loadMs = performance.now() - t0;
    return engine;
  }

  /** one-position decoder calls so far and the time spent inside their session.run */
  get decoderStepStats(): { calls: number; ms: number } {
    return { ...this.driver.stepStats };
  }

  async close(): Promise<void> {
    this.table?.close();
    this.prefix?.cache.releaseDevice();
    await this.downloader?.release();
    await this.sessions.release();
  }

  /** Brings device-resident caches back to the host before they are reshaped (no-op off the WebGPU EP). */
  private async toHost(...caches: KvCache[]): Promise<void> {
    if (!this.downloader) return;
    for (const c of caches) await c.toHost(this.downloader);
  }

  /** The prompt ids (image as −200) for a conversation; throws TemplateError for a bad question. */
  promptIds(question: string, history?: readonly Turn[]): number[] {
    return tokenizeWithImage(this.tokenizer, renderPrompt({ question, ...(history ? { history } : {}) }));
  }

  /** Answers one question (a batch of one: the same code path as analyzeBatch). */
  async analyze(input: EngineInput, run: EngineRun = {}): Promise<EngineResult> {
    const [r] = await this.analyzeBatch([{ input, run }]);
    if (r!.status === 'rejected') throw r!.reason;
    return r!.value;
  }

  /**
   * Answers several questions together: the vision tower encodes the uncached images in batched calls, each
   * prompt is prefilled on its own (batch 1, reusing the system-prompt KV), then all answers decode as rows of one
   * batch, each with its own sampler, stop rules and cancel signal; a finished row leaves the batch at once and
   * settles (`onSettled`) without waiting for the others. With `admit`, new requests join the running batch between
   * steps (continuous batching); their indices follow the earlier ones. Each row makes exactly the choices it would
   * make alone. Returns one result per item (given and admitted), in index order.
   */
  async analyzeBatch(
    items: readonly BatchItem[],
    opts: BatchOptions = {},
  ): Promise<PromiseSettledResult<EngineResult>[]> {
    const results: PromiseSettledResult<EngineResult>[] = [];
    const settle = (index: number, r: PromiseSettledResult<EngineResult>) => {
      results[index] = r;
      opts.onSettled?.(index, r);
    };
    const done = (job: Job, r: EngineResult) => settle(job.index, { status: 'fulfilled', value: r });
    const live = (list: Job[]) =>
      list.filter((j) => {
        if (!j.run.signal?.aborted) return true;
        done(j, this.canceledResult(j));
        return false;
      });
    const all: Job[] = [];
    let nextIndex = 0;
    /** prepares, encodes and prefills new items into batch-1 caches of at least `minLength` positions */
    const start = async (batch: readonly BatchItem[], minLength: number): Promise<Row[]> => {
      const t0 = performance.now();
      const jobs: Job[] = [];
      for (const item of batch) {
        const index = nextIndex++;
        try {
          jobs.push(this.prepare(item, index, t0));
        } catch (reason) {
          settle(index, { status: 'rejected', reason });
        }
      }
      all.push(...jobs);
      let active = live(jobs);
      await this.encodeImages(active);
      await yieldToEventLoop();
      active = live(active);
      const maxLength = Math.max(minLength, ...active.map((j) => j.maxLength));
      const rows: Row[] = [];
      for (const job of active) {
        const cache = await this.prefill(job, maxLength);
        if (job.seq!.finishReason) {
          cache.releaseDevice();
          done(job, this.resultOf(job));
        } else rows.push({ job, cache });
      }
      return rows;
    };
    try {
      const rows = await start(items, 0);
      const admit = opts.admit;
      const join = admit
        ? async (room: number, minLength: number) => {
            const more = admit(room);
            return more.length > 0 ? start(more, minLength) : [];
          }
        : undefined;
      await this.decodeRows(rows, done, join, opts.maxRows ?? Number.POSITIVE_INFINITY);
    } catch (reason) {
      for (const j of all) if (!results[j.index]) settle(j.index, { status: 'rejected', reason });
    }
    return results;
  }

  private prepare(item: BatchItem, index: number, t0: number): Job {
    const { input } = item;
    const m = this.manifest;
    const params = resolveParams(input.params ?? {}, this.generationConfig);
    const promptIds = this.promptIds(input.question, input.history);
    const textIds = promptIds.filter((id) => id !== IMAGE_TOKEN_INDEX);
    const at = promptIds.indexOf(IMAGE_TOKEN_INDEX);
    if (at < 0 || promptIds.lastIndexOf(IMAGE_TOKEN_INDEX) !== at)
      throw new Error('exactly one image placeholder expected');
    const positions = textIds.length + m.dims.imageTokens;
    const limit = m.dims.llm.maxPositionEmbeddings;
    if (positions >= limit) {
      throw new PromptTooLongError(
        `prompt needs ${positions} positions (text ${textIds.length} + image ${m.dims.imageTokens}); the model has ${limit}`,
      );
    }
    return {
      index,
      input,
      run: item.run ?? {},
      t0,
      params,
      promptIds,
      textIds,
      at,
      positions,
      maxLength: Math.min(limit, positions + params.maxNewTokens),
      timings: { preprocess_ms: 0, vision_ms: 0, embed_ms: 0, prefill_ms: 0, first_token_ms: 0 },
      imageCacheHit: false,
      prefixHit: false,
      batchSize: 1,
      length: 0,
    };
  }

  /** Image features for every job: cache hits first, then one batched vision call per `visionBatch` misses. */
  private async encodeImages(jobs: Job[]): Promise<void> {
    const H = this.manifest.dims.llm.hiddenSize;
    const rows = this.manifest.dims.imageTokens;
    const misses = new Map<string, Job[]>();
    for (const job of jobs) {
      const key = ImageFeatureCache.key(job.input.rgb);
      const hit = this.imageCache.get(key);
      if (hit) {
        job.image = hit;
        job.imageCacheHit = true;
      } else misses.set(key, [...(misses.get(key) ?? []), job]);
    }
    const keys = [...misses.keys()];
    const size = IMAGE_SIZE * IMAGE_SIZE * 3;
    for (let k = 0; k < keys.length; k += this.visionBatch) {
      const chunk = keys.slice(k, k + this.visionBatch);
      let t = performance.now();
      const pixels = new Float32Array(chunk.length * size);
      chunk.forEach((key, i) => {
        pixels.set(normalizeRgbToNchw(misses.get(key)![0]!.input.rgb), i * size);
      });
      const preprocessMs = performance.now() - t;
      t = performance.now();
      const out = await this.sessions.vision.run({
        pixel_values: new ort.Tensor('float32', pixels, [chunk.length, 3, IMAGE_SIZE, IMAGE_SIZE]),
      });
      const visionMs = performance.now() - t;
      const all = out.image_features!.data as Float32Array;
      if (all.length !== chunk.length * rows * H) {
        throw new Error(`vision output has ${all.length} values, expected ${chunk.length * rows * H}`);
      }
      chunk.forEach((key, i) => {
        const features = all.slice(i * rows * H, (i + 1) * rows * H);
        this.imageCache.set(key, features);
        for (const job of misses.get(key)!) {
          job.image = features;
          job.timings.preprocess_ms = preprocessMs;
          job.timings.vision_ms = visionMs;
        }
      });
    }
  }

  /** Embeds and splices the prompt, prefills it into a fresh batch-1 cache and chooses the first token. */
  private async prefill(job: Job, maxLength: number): Promise<KvCache> {
    const H = this.manifest.dims.llm.hiddenSize;
    let t = performance.now();
    const text = await this.embed(job.textIds);
    const spliced = new Float32Array(job.positions * H);
    spliced.set(text.subarray(0, job.at * H), 0);
    spliced.set(job.image!, job.at * H);
    spliced.set(text.subarray(job.at * H), (job.at + this.manifest.dims.imageTokens) * H);
    job.timings.embed_ms = performance.now() - t;

    t = performance.now();
    job.tGen = t;
    job.seq = new SequenceState({
      tokenizer: this.tokenizer,
      promptTextIds: job.textIds,
      promptPositions: job.positions,
      maxPositions: job.maxLength,
      params: job.params,
      eosIds: this.startup.eosIds,
      ...(job.run.signal ? { signal: job.run.signal } : {}),
      ...(job.run.onText ? { onText: job.run.onText } : {}),
    });
    const prefix = this.prefix && job.at > 0 && sameIds(this.prefix.ids, job.promptIds, job.at) ? this.prefix : null;
    let cache: KvCache;
    let logits: Float32Array;
    if (prefix) {
      cache = KvCache.withPrefix(prefix.cache, job.at, maxLength);
      logits = await this.driver.run(cache, spliced.subarray(job.at * H), job.positions - job.at, [job.at]);
      job.prefixHit = true;
    } else {
      cache = new KvCache(this.kvLayout, 1, maxLength);
      logits = await this.driver.run(cache, spliced, job.positions, [0]);
    }
    job.length = job.positions;
    job.timings.prefill_ms = performance.now() - t;
    if (job.input.returnPrefillLogits) job.prefillLogits = logits.slice(0, this.manifest.dims.llm.vocabSize);
    job.lastId = job.seq.accept(logits);
    job.timings.first_token_ms = performance.now() - t;
    return cache;
  }

  /**
   * Batched one-token steps until every row has finished; finished or canceled rows leave between steps, and
   * `join` (continuous batching) may bring new prefilled rows in, up to `maxRows`.
   */
  private async decodeRows(
    rows: Row[],
    done: (job: Job, r: EngineResult) => void,
    join: ((room: number, minLength: number) => Promise<Row[]>) | undefined,
    maxRows: number,
  ): Promise<void> {
    const V = this.manifest.dims.llm.vocabSize;
    let jobs = rows.map((r) => r.job);
    for (const job of jobs) job.batchSize = jobs.length;
    if (rows.length > 1) await this.toHost(...rows.map((r) => r.cache));
    let cache: KvCache | null =
      rows.length === 0 ? null : rows.length === 1 ? rows[0]!.cache : KvCache.stack(rows.map((r) => r.cache));
    try {
      for (;;) {
        await yieldToEventLoop();
        const keep: number[] = [];
        jobs.forEach((job, b) => {
          if (job.seq!.finishReason || job.seq!.checkCanceled()) done(job, this.resultOf(job));
          else keep.push(b);
        });
        if (cache && keep.length < jobs.length) {
          if (keep.length > 0) await this.toHost(cache);
          cache.releaseDevice();
          cache = keep.length > 0 ? cache.select(keep) : null;
          jobs = keep.map((b) => jobs[b]!);
        }
        if (join && jobs.length < maxRows) {
          const joined = await join(maxRows - jobs.length, cache?.maxLength ?? 0);
          if (joined.length > 0) {
            await this.toHost(...(cache ? [cache] : []), ...joined.map((r) => r.cache));
            const L = Math.max(cache?.maxLength ?? 0, ...joined.map((r) => r.cache.maxLength));
            const grow = (c: KvCache) => (c.maxLength === L ? c : c.resized(L));
            cache = KvCache.concat([...(cache ? [grow(cache)] : []), ...joined.map((r) => grow(r.cache))]);
            jobs = [...jobs, ...joined.map((r) => r.job)];
            for (const r of joined) r.job.batchSize = jobs.length;
          }
        }
        if (!cache || jobs.length === 0) return;
        const ids = jobs.map((j) => j.lastId!);
        const embeds = this.table ? this.table.rows(ids) : await this.embed(ids, jobs.length);
        const logits = await this.driver.run(
          cache,
          embeds,
          1,
          jobs.map((j) => j.length),
        );
        jobs.forEach((job, b) => {
          job.length += 1;
          job.lastId = job.seq!.accept(logits.subarray(b * V, (b + 1) * V));
        });
      }
    } finally {
      cache?.releaseDevice();
    }
  }

  private canceledResult(job: Job): EngineResult {
    return {
      ...this.baseOf(job),
      text: '',
      finish_reason: 'canceled',
      image_cache_hit: false,
      prefix_cache_hit: false,
      batch_size: 1,
      completion_tokens: 0,
      output_token_ids: [],
      seed: job.params.seed ?? null,
      timings: {
        ...job.timings,
        prefill_ms: 0,
        first_token_ms: 0,
        decode_ms: 0,
        total_ms: performance.now() - job.t0,
        tokens_per_second: 0,
      },
    };
  }

  private baseOf(job: Job) {
    return {
      prompt_tokens: job.textIds.length,
      image_tokens: this.manifest.dims.imageTokens,
      prompt_token_ids: job.promptIds,
    };
  }

  private resultOf(job: Job): EngineResult {
    const seq = job.seq!;
    const text = seq.finish();
    const g = timingsOf(job.tGen!, job.timings.prefill_ms, job.timings.first_token_ms, seq.generated.length);
    return {
      ...this.baseOf(job),
      text,
      finish_reason: seq.finishReason ?? 'stop',
      image_cache_hit: job.imageCacheHit,
      prefix_cache_hit: job.prefixHit,
      batch_size: job.batchSize,
      completion_tokens: seq.generated.length,
      output_token_ids: seq.generated,
      seed: seq.seed,
      timings: {
        ...job.timings,
        decode_ms: g.decodeMs,
        total_ms: performance.now() - job.t0,
        tokens_per_second: g.tokensPerSecond,
      },
      ...(job.prefillLogits ? { prefill_logits: job.prefillLogits } : {}),
    };
  }

  /** Token embeddings of `ids` laid out as [batch, ids.length / batch]. */
  private async embed(ids: readonly number[], batch = 1): Promise<Float32Array> {
    const out = await this.sessions.embed.run({
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [batch, ids.length / batch],
      ),
    });
    return out.inputs_embeds!.data as Float32Array;
  }

  /** The KV of the prompt text before the image (system prompt + "### Human: "), the same for every request. */
  private async computePrefix(): Promise<void> {
    const ids = this.promptIds('?');
    const at = ids.indexOf(IMAGE_TOKEN_INDEX);
    if (at <= 0) return;
    const prefixIds = ids.slice(0, at);
    const cache = new KvCache(this.kvLayout, 1, at);
    await this.driver.run(cache, await this.embed(prefixIds), at, [0]);
    await this.toHost(cache);
    this.prefix = { ids: prefixIds, cache };
  }
}
