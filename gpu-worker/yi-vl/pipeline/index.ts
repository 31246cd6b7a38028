// Public surface of the Yi-VL pipeline for the worker.
export { toEngineParams, YiVlAnalyzer, type YiVlResult } from './analyzer.ts';
export {
  type EngineInput,
  type EngineOptions,
  type EngineResult,
  PromptTooLongError,
  type StartupReport,
  YiVlEngine,
} from './engine.ts';
export { ModelDirError } from './manifest.ts';
export { DeviceError, type DeviceRequest, type ProviderReport } from './sessions.ts';
