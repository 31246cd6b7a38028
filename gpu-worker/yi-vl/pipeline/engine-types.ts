// The engine's public types: what a request brings, what it gets back, and how a batch is driven.
import type { ResponseFormat } from '../../../shared/structured/response-format.ts';
import { ContextTooLongError } from '../../analyzer-errors.ts';
import type { GenerationParams } from '../generation/params.ts';
import type { TextCallback } from '../generation/streamer.ts';
import type { Turn } from '../template/mm-default.ts';
import type { ModelManifest } from './manifest.ts';
import type { ProviderReport, SessionOptions } from './sessions.ts';

export interface EngineInput {
  /** 448×448×3 RGB bytes, HWC */
  rgb: Uint8Array;
  question: string;
  history?: readonly Turn[];
  params?: Partial<GenerationParams>;
  /**
   * json_object / json_schema: the answer is decoded under that grammar (text and absent: free text). The prompt is
   * Yi-VL's own either way; the schema is never added to it.
   */
  responseFormat?: ResponseFormat;
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

/** How decode runs: K tokens per decoder call in the in-graph loop, one per call with a JS choice, or chosen at load. */
export type DecodeMode = 'auto' | 'loop' | 'step';

export interface StartupReport extends ProviderReport {
  /** the decode path batches take: 'loop' (except batches with a row that needs a JS choice per step) or 'step' */
  decode: 'loop' | 'step';
  /** tokens per in-graph loop run (null when decoding one token per run) */
  loopSteps: number | null;
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
  /**
   * how decode runs (default 'auto'): 'loop' — up to `loopSteps` tokens per decoder call in the in-graph loop
   * (decoder_loop.onnx) for every batch whose rows allow it (a row with a logits mask takes the JS step); 'step' —
   * one token per decoder call, chosen in JS; 'auto' — 'loop' on the CPU EP where the model folder has the loop
   * graph, else 'step' (on CUDA the loop session would hold a second copy of the decoder weights on the GPU; on
   * WebGPU the KV stays on the device) (docs/performance.md)
   */
  decode?: DecodeMode;
  /** tokens per in-graph loop run (default DEFAULT_LOOP_STEPS) */
  loopSteps?: number;
}

/** Tokens per in-graph loop run unless configured (docs/performance.md: measured on the CPU EP). */
export const DEFAULT_LOOP_STEPS = 16;

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
