// The Yi-VL pipeline on onnxruntime sessions, in the calling thread: pixels → vision → embed → splice the image rows
// at the placeholder → prefill → KV-cached decode. The worker thread (model-thread.ts) hosts one of these. This
// class loads the model and its caches; batch-scheduler.ts runs the requests, one generation-row.ts per answer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eosIdsOf, type GenerationConfigJson } from '../generation/params.ts';
import { stopStringTokenIds } from '../generation/stopping-criteria.ts';
import { RowGrammars } from '../grammar/row-grammars.ts';
import type { Turn } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX } from '../template/prompt-ids.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { BatchScheduler, type SchedulerModel } from './batch-scheduler.ts';
import { type DecodeStrategy, LoopDecode, StepDecode, strategyFor } from './decode-strategy.ts';
import { DecoderDriver } from './decoder-driver.ts';
import { EmbeddingTable } from './embedding-table.ts';
import type {
  BatchItem,
  BatchOptions,
  EngineInput,
  EngineOptions,
  EngineResult,
  EngineRun,
  StartupReport,
} from './engine-types.ts';
import { DEFAULT_LOOP_STEPS } from './engine-types.ts';
import { promptIdsOf } from './generation-row.ts';
import { ImageFeatureCache } from './image-feature-cache.ts';
import { type KvCache, type KvLayout, kvLayoutOf } from './kv-cache.ts';
import { KvDownloader } from './kv-downloader.ts';
import { LoopDecoder } from './loop-decoder.ts';
import { ModelDirError, type ModelManifest, readGenerationConfig, readManifest } from './manifest.ts';
import { PrefixCache } from './prefix-cache.ts';
import { createLoopSession, createSessions, DeviceError, type ModelSessions } from './sessions.ts';
import { TokenEmbedder } from './token-embedder.ts';
import { VisionEncoder } from './vision-encoder.ts';

export * from './engine-types.ts';

export class YiVlEngine {
  private readonly driver: DecoderDriver;
  private readonly kvLayout: KvLayout;
  private readonly embedder: TokenEmbedder;
  private readonly vision: VisionEncoder;
  /** one JS-chosen token per row per decoder call: batches with a row that needs a JS choice every step */
  private readonly stepDecode: DecodeStrategy;
  /** up to K tokens per row per decoder call in the in-graph loop (null: every batch takes the step) */
  private readonly loopDecode: DecodeStrategy | null;
  private prefix: PrefixCache | null = null;
  /** constrained rows' grammars (the compiled-grammar cache is made on the first response_format) */
  readonly grammars: RowGrammars;

  private constructor(
    readonly dir: string,
    readonly manifest: ModelManifest,
    readonly tokenizer: SentencePieceTokenizer,
    readonly generationConfig: GenerationConfigJson,
    private readonly sessions: ModelSessions,
    readonly startup: StartupReport,
    imageCache: ImageFeatureCache,
    /** present on the WebGPU EP, where caches live on the device between steps */
    private readonly downloader: KvDownloader | null,
    private readonly loop: LoopDecoder | null,
    opts: EngineOptions,
  ) {
    const { dims } = manifest;
    const llm = dims.llm;
    this.driver = new DecoderDriver(sessions.decoder, llm.hiddenSize, llm.vocabSize, downloader !== null);
    this.kvLayout = kvLayoutOf(manifest);
    const visionBatch = Math.max(1, opts.visionBatch ?? (sessions.report.provider === 'cuda' ? 4 : 1));
    this.vision = new VisionEncoder(sessions.vision, imageCache, visionBatch, dims.imageTokens, llm.hiddenSize);
    // decode-step embeddings without a session.run where the graph's layout allows it
    const table = EmbeddingTable.open(dir, manifest.graphs.embedTokens.file, llm.vocabSize, llm.hiddenSize);
    this.embedder = new TokenEmbedder(sessions.embed, table);
    this.stepDecode = new StepDecode(this.driver, this.embedder);
    this.loopDecode = loop ? new LoopDecode(loop, startup.loopSteps ?? DEFAULT_LOOP_STEPS) : null;
    this.grammars = new RowGrammars(tokenizer, startup.eosIds);
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
      decode: 'step',
      loopSteps: null,
      loadMs: performance.now() - t0,
    };
    const cache = new ImageFeatureCache(opts.imageCacheSize ?? 4);
    let downloader: KvDownloader | null = null;
    let loop: LoopDecoder | null = null;
    try {
      if (sessions.report.provider === 'webgpu') {
        downloader = await KvDownloader.create(kvLayoutOf(manifest), ['webgpu']);
      }
      loop = await YiVlEngine.openLoop(dir, manifest, tokenizer, startup, opts);
    } catch (err) {
      await downloader?.release();
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
      loop,
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

  /**
   * The in-graph decode loop the options and the model folder allow (startup.decode and loopSteps say which), or
   * null. 'loop' asked for explicitly and not possible is an error; 'auto' then falls back to the step, and says so.
   */
  private static async openLoop(
    dir: string,
    manifest: ModelManifest,
    tokenizer: SentencePieceTokenizer,
    startup: StartupReport,
    opts: EngineOptions,
  ): Promise<LoopDecoder | null> {
    const mode = opts.decode ?? 'auto';
    if (mode === 'step') return null;
    const steps = opts.loopSteps ?? DEFAULT_LOOP_STEPS;
    if (!Number.isInteger(steps) || steps < 1)
      throw new RangeError(`loopSteps must be a positive integer, got ${steps}`);
    const refuse = (why: string, error: Error): null => {
      if (mode === 'loop') throw error;
      startup.warnings.push(`decoding one token per run: ${why}`);
      return null;
    };
    const provider = startup.provider;
    if (provider === 'webgpu') {
      // the loop binds its KV as host tensors; on WebGPU the cache stays on the device between steps
      if (mode === 'loop') throw new DeviceError('the in-graph decode loop is not available on the WebGPU EP');
      return null;
    }
    // On CUDA the loop session holds a second copy of the decoder weights in GPU memory (an fp16 Yi-VL-6B would no
    // longer fit a 24 GB GPU) and its speed there is not measured yet: it is used when asked for (docs/performance.md).
    if (provider === 'cuda' && mode === 'auto') return null;
    if (!manifest.graphs.decoderLoop) {
      const why = `${dir} has no decoder_loop.onnx (convert the checkpoint again for the in-graph loop)`;
      return refuse(why, new ModelDirError(why));
    }
    let session: Awaited<ReturnType<typeof createLoopSession>>;
    try {
      session = await createLoopSession(dir, manifest, provider, opts);
    } catch (err) {
      const why = `decoder_loop.onnx does not load: ${(err as Error).message.split('\n')[0]}`;
      return refuse(why, new DeviceError(why));
    }
    startup.decode = 'loop';
    startup.loopSteps = steps;
    // a row pauses after EOS and after any token that may complete the stop string, so no step is made past a stop
    const stopIds = [...new Set([...startup.eosIds, ...stopStringTokenIds(tokenizer)])];
    return new LoopDecoder(session, tokenizer.vocabSize, stopIds);
  }

  /** one-position decoder calls so far and the time spent inside their session.run */
  get decoderStepStats(): { calls: number; ms: number } {
    return { ...this.driver.stepStats };
  }

  /** in-graph loop runs so far, the tokens they made and the time spent inside their session.run */
  get loopStats(): { runs: number; tokens: number; ms: number } {
    return { ...(this.loop?.stats ?? { runs: 0, tokens: 0, ms: 0 }) };
  }

  async close(): Promise<void> {
    this.embedder.close();
    this.prefix?.release();
    await this.downloader?.release();
    await this.loop?.release();
    await this.sessions.release();
  }

  /** Brings device-resident caches back to the host before they are reshaped (no-op off the WebGPU EP). */
  private async toHost(...caches: KvCache[]): Promise<void> {
    if (!this.downloader) return;
    for (const c of caches) await c.toHost(this.downloader);
  }

  /** The prompt ids (image as −200) for a conversation; throws TemplateError for a bad question. */
  promptIds(question: string, history?: readonly Turn[]): number[] {
    return promptIdsOf(this.tokenizer, question, history);
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
    return new BatchScheduler(this.schedulerModel(), opts).run(items);
  }

  private schedulerModel(): SchedulerModel {
    return {
      dims: this.manifest.dims,
      tokenizer: this.tokenizer,
      eosIds: this.startup.eosIds,
      kvLayout: this.kvLayout,
      driver: this.driver,
      embedder: this.embedder,
      prefix: this.prefix,
      vision: this.vision,
      toHost: (...caches) => this.toHost(...caches),
      // the in-graph loop unless a row needs a JS choice at every step (a grammar)
      decodeFor: (rows) => strategyFor(rows, this.loopDecode, this.stepDecode),
      rowOptionsFor: async (input) => {
        const logitsMask = await this.grammars.maskFor(input.responseFormat);
        return logitsMask ? { logitsMask } : {};
      },
    };
  }

  /** The KV of the prompt text before the image (system prompt + "### Human: "), the same for every request. */
  private async computePrefix(): Promise<void> {
    const ids = this.promptIds('?');
    const at = ids.indexOf(IMAGE_TOKEN_INDEX);
    if (at <= 0) return;
    this.prefix = await PrefixCache.compute(ids.slice(0, at), this.kvLayout, this.driver, this.embedder, (c) =>
      this.toHost(c),
    );
  }
}
