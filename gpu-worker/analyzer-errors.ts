/**
 * The failures a model may report for one request, as types: the consumer decides by `instanceof` whether a job is
 * retried or fails at once, and never reads messages. The Yi-VL pipeline throws these (its own classes extend them);
 * an analyzer that throws anything else is treated as crashed (retried until the receive count runs out).
 *
 * `code` also names the class across a thread boundary, where an error loses its prototype: the side that rebuilds it
 * calls `analyzeErrorOf(code, message)`.
 */
export const ANALYZE_ERROR_CODES = ['input_invalid', 'context_too_long', 'model_crash', 'oom'] as const;
export type AnalyzeErrorCode = (typeof ANALYZE_ERROR_CODES)[number];

export abstract class AnalyzeError extends Error {
  abstract readonly code: AnalyzeErrorCode;
  /** Whether another attempt (a later delivery, perhaps on another worker) can succeed. */
  abstract readonly retryable: boolean;
}

/** The request can never succeed: the job fails at once with `code` as its error code. */
export abstract class NonRetryableAnalyzeError extends AnalyzeError {
  override readonly retryable = false;
}

/** The stored model input cannot be decoded or is not what the model takes (e.g. not 448×448). */
export class InputInvalidError extends NonRetryableAnalyzeError {
  readonly code = 'input_invalid';
  override name = 'InputInvalidError';
}

/** The prompt, history and image together need more positions than the model has. */
export class ContextTooLongError extends NonRetryableAnalyzeError {
  readonly code = 'context_too_long';
  override name = 'ContextTooLongError';
}

/** The model failed for a reason unrelated to the request: another attempt may succeed. */
export abstract class RetryableAnalyzeError extends AnalyzeError {
  override readonly retryable = true;
}

/** The model runtime failed (a kernel error, the model thread died). */
export class ModelCrashError extends RetryableAnalyzeError {
  readonly code = 'model_crash';
  override name = 'ModelCrashError';
}

/** The accelerator or host ran out of memory for this request (it may fit when the worker is less busy). */
export class ModelOutOfMemoryError extends RetryableAnalyzeError {
  readonly code = 'oom';
  override name = 'ModelOutOfMemoryError';
}

const BY_CODE: Record<AnalyzeErrorCode, new (message: string) => AnalyzeError> = {
  input_invalid: InputInvalidError,
  context_too_long: ContextTooLongError,
  model_crash: ModelCrashError,
  oom: ModelOutOfMemoryError,
};

export function isAnalyzeErrorCode(code: unknown): code is AnalyzeErrorCode {
  return typeof code === 'string' && (ANALYZE_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Rebuilds a typed error from what crossed a thread boundary; an unknown or missing code is a crash. `name` keeps the
 * original class name (e.g. `PromptTooLongError`) for logs.
 */
export function analyzeErrorOf(code: string | undefined, message: string, name?: string): AnalyzeError {
  const err = new BY_CODE[isAnalyzeErrorCode(code) ? code : 'model_crash'](message);
  if (name) err.name = name;
  return err;
}
