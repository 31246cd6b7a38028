// The worker's Analyzer for Yi-VL: a model thread owns the sessions; this side decodes the upload, sends requests,
// relays streamed text and cancellation, and turns the thread's failures back into the worker's typed errors. One
// instance per model folder.
import { Worker } from 'node:worker_threads';
import type { GenerationParams as ApiGenerationParams } from '../../../shared/schemas/generation-params.ts';
import type { AnalyzeRequest, AnalyzeResult, Analyzer } from '../../analyzer.ts';
import { analyzeErrorOf, ModelCrashError } from '../../analyzer-errors.ts';
import type { GenerationParams } from '../generation/params.ts';
import { decode448 } from '../preprocess/decode.ts';
import type { EngineOptions, EngineResult, StartupReport } from './engine.ts';
import type { FromThread, SerializedError, ThreadInit, ToThread } from './protocol.ts';

/** The worker's result plus the pipeline's detail (token ids, timings, cache hits, batch size). */
export interface YiVlResult extends EngineResult, AnalyzeResult {}

interface Pending {
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
  onText: ((delta: string) => void) | undefined;
}

/** A start-up failure as the thread reported it (ModelDirError, DeviceError, …), under its original name. */
function startupErrorOf(e: SerializedError): Error {
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export function toEngineParams(p: Partial<ApiGenerationParams> = {}): Partial<GenerationParams> {
  const out: Partial<GenerationParams> = {};
  if (p.max_new_tokens !== undefined) out.maxNewTokens = p.max_new_tokens;
  if (p.temperature !== undefined) out.temperature = p.temperature;
  if (p.top_k !== undefined) out.topK = p.top_k;
  if (p.top_p !== undefined) out.topP = p.top_p;
  if (p.repetition_penalty !== undefined) out.repetitionPenalty = p.repetition_penalty;
  if (p.seed !== undefined) out.seed = p.seed;
  return out;
}

const THREAD_URL = new URL('./model-thread.ts', import.meta.url);

/**
 * Starts the model thread. Under tsx the thread's TypeScript needs the tsx loader registered inside the thread
 * (Node 20 does not carry the parent's --import hooks into workers), so a tiny bootstrap does that first.
 */
function spawnModelThread(init: ThreadInit): Worker {
  if (!THREAD_URL.pathname.endsWith('.ts')) return new Worker(THREAD_URL, { workerData: init });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(THREAD_URL.href)}); });`;
  return new Worker(code, { eval: true, workerData: init });
}

export class YiVlAnalyzer implements Analyzer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private exitError: Error | null = null;

  /** the model thread's id (the main thread is 0) */
  get threadId(): number {
    return this.worker.threadId;
  }

  private constructor(
    private readonly worker: Worker,
    readonly startup: StartupReport,
  ) {
    worker.on('message', (msg: FromThread) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(new ModelCrashError(`model thread failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new ModelCrashError(`model thread exited with code ${code}`));
    });
  }

  /** Starts the model thread and waits until the sessions are loaded (and the provider is known). */
  static start(modelDir: string, options: EngineOptions = {}): Promise<YiVlAnalyzer> {
    const worker = spawnModelThread({ modelDir, options });
    return new Promise((resolve, reject) => {
      const onMessage = (msg: FromThread) => {
        if (msg.type === 'ready') {
          cleanup();
          resolve(new YiVlAnalyzer(worker, msg.startup));
        } else if (msg.type === 'fatal') {
          cleanup();
          void worker.terminate();
          reject(startupErrorOf(msg.error));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        reject(err);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`model thread exited with code ${code} before it was ready`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  describe(): string {
    return `Yi-VL from ${this.startup.modelDir} ${JSON.stringify(this.startup)}`;
  }

  startupWarnings(): string[] {
    return [
      ...(this.startup.cpuFallback ? ['the model runs on the CPU: the CUDA execution provider could not be used'] : []),
      ...this.startup.warnings,
    ];
  }

  /**
   * Answers one request. Rejects with the worker's typed errors (gpu-worker/analyzer-errors.ts): the pipeline's own
   * (ImageInputError, TemplateError, PromptTooLongError) are subclasses of them, and a failure inside the model
   * thread is rebuilt here from the code it carries.
   */
  async analyze(req: AnalyzeRequest, signal?: AbortSignal): Promise<YiVlResult> {
    const r = await this.run(req, signal);
    return { ...r, gpu_ms: r.timings.total_ms };
  }

  private async run(req: AnalyzeRequest, signal?: AbortSignal): Promise<EngineResult> {
    if (this.closed || this.exitError) throw this.exitError ?? new ModelCrashError('analyzer is closed');
    const rgb = (await decode448(req.image)).slice(); // own buffer, so it can be transferred
    const id = this.nextId++;
    const msg: ToThread = {
      type: 'analyze',
      id,
      stream: req.onText !== undefined,
      aborted: signal?.aborted === true,
      input: {
        rgb,
        question: req.prompt,
        ...(req.history ? { history: req.history } : {}),
        params: toEngineParams(req.params),
        ...(req.params?.response_format ? { responseFormat: req.params.response_format } : {}),
      },
    };
    return new Promise<EngineResult>((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ type: 'cancel', id } satisfies ToThread);
      const done = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (r) => {
          done();
          resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
        onText: req.onText,
      });
      this.worker.postMessage(msg, [rgb.buffer as ArrayBuffer]);
      if (!msg.aborted) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Cancels running requests, releases the sessions and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies ToThread);
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
    this.failAll(new ModelCrashError('analyzer closed'));
  }

  private onMessage(msg: FromThread): void {
    if (msg.type === 'text') this.pending.get(msg.id)?.onText?.(msg.delta);
    else if (msg.type === 'result') {
      this.pending.get(msg.id)?.resolve(msg.result);
      this.pending.delete(msg.id);
    } else if (msg.type === 'error') {
      this.pending.get(msg.id)?.reject(analyzeErrorOf(msg.error.code, msg.error.message, msg.error.name));
      this.pending.delete(msg.id);
    }
  }

  private failAll(err: Error): void {
    this.exitError ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
