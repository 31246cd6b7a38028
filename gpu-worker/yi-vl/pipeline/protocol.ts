// Messages between the main thread (analyzer.ts) and the model thread (model-thread.ts).
import { AnalyzeError, type AnalyzeErrorCode } from '../../analyzer-errors.ts';
import type { EngineInput, EngineOptions, EngineResult, StartupReport } from './engine.ts';

export interface ThreadInit {
  modelDir: string;
  options: EngineOptions;
}

export type ToThread =
  | { type: 'analyze'; id: number; input: EngineInput; stream: boolean; aborted: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

/** An error as it crosses to the main thread, which rebuilds the typed error from `code` (classes do not cross). */
export interface SerializedError {
  name: string;
  message: string;
  code?: AnalyzeErrorCode;
}

export type FromThread =
  | { type: 'ready'; startup: StartupReport }
  | { type: 'fatal'; error: SerializedError }
  | { type: 'text'; id: number; delta: string }
  | { type: 'result'; id: number; result: EngineResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'closed' };

/**
 * onnxruntime reports an exhausted allocator (CUDA arena, host) as a plain Error; this is the one place that reads its
 * message, so that the worker sees a typed ModelOutOfMemoryError.
 */
const OUT_OF_MEMORY = /out of memory|bad_alloc|failed to allocate|allocation failed|MemoryAllocation/i;

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const out: SerializedError = { name: err.name, message: err.message };
  if (err instanceof AnalyzeError) out.code = err.code;
  else if (OUT_OF_MEMORY.test(err.message)) out.code = 'oom';
  return out;
}
