// The Yi-VL pipeline on onnxruntime sessions, in the calling thread: pixels → vision → embed → splice the image rows
// at the placeholder → prefill → KV-cached decode. The worker thread (model-thread.ts) hosts one of these. This
// class loads the model and its caches; batch-scheduler.ts runs the requests, one generation-row.ts per answer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eosIdsOf, type GenerationConfigJson } from '../generation/params.ts';
import { RowGrammars } from '../grammar/row-grammars.ts';
import type { Turn } from '../template/mm-default.ts';
import { IMAGE_TOKEN_INDEX } from '../template/prompt-ids.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { BatchScheduler, type SchedulerModel } from './batch-scheduler.ts';
import { type DecodeStrategy, StepDecode } from './decode-strategy.ts';
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
import { promptIdsOf } from './generation-row.ts';
import { ImageFeatureCache } from './image-feature-cache.ts';
import { type KvCache, type KvLayout, kvLayoutOf } from './kv-cache.ts';
import { KvDownloader } from './kv-downloader.ts';
import { type ModelManifest, readGenerationConfig, readManifest } from './manifest.ts';
import { PrefixCache } from './prefix-cache.ts';
import { createSessions, type ModelSessions } from './sessions.ts';
import { TokenEmbedder } from './token-embedder.ts';
import { VisionEncoder } from './vision-encoder.ts';

export * from './engine-types.ts';

export class YiVlEngine {
  private readonly driver: DecoderDriver;
  private readonly kvLayout: KvLayout;
  private readonly embedder: TokenEmbedder;
  private readonly vision: VisionEncoder;
  /** the one decode strategy today: one JS-sampled token per row per decoder call */
  private readonly stepDecode: DecodeStrategy;
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
    this.embedder.close();
    this.prefix?.release();
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
      // the place to choose another strategy for a batch (e.g. K tokens per run for greedy rows); rows with
      // `needsPerStepDecision` (a grammar) need the JS step
      decodeFor: () => this.stepDecode,
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
