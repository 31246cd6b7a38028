// Messages between the main thread (analyzer.ts) and the model thread (model-thread.ts).
import type { EngineInput, EngineOptions, EngineResult, StartupReport } from './engine.ts';

export interface ThreadInit {
  modelDir: string;
  options: EngineOptions;
}

export type ToThread =
  | { type: 'analyze'; id: number; input: EngineInput; stream: boolean; aborted: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export interface SerializedError {
  name: string;
  message: string;
}

export type FromThread =
  | { type: 'ready'; startup: StartupReport }
  | { type: 'fatal'; error: SerializedError }
  | { type: 'text'; id: number; delta: string }
  | { type: 'result'; id: number; result: EngineResult }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'closed' };

export function serializeError(err: unknown): SerializedError {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
