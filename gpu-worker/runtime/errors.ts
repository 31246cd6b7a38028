import type { JobError } from '../../shared/index.ts';
import { JobUpdateConflictError, QueueUnavailableError, StoreUnavailableError } from '../../shared/index.ts';
import { NonRetryableAnalyzeError } from '../analyzer.ts';

/** The job's input object is gone or unreadable: retrying cannot help. */
export class InputMissingError extends Error {
  constructor(key: string) {
    super(`job input ${key} does not exist`);
    this.name = 'InputMissingError';
  }
}

export type FailureClass = { retryable: true; reason: string } | { retryable: false; error: JobError };

/**
 * Sorts a failure into "try again later" (the model process crashed, ran out of memory, storage or queue was down)
 * and "this job can never succeed" (bad input). Unknown errors count as retryable: the receive count caps them.
 */
export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof NonRetryableAnalyzeError)
    return { retryable: false, error: { code: err.code, message: err.message, retryable: false } };
  if (err instanceof InputMissingError)
    return { retryable: false, error: { code: 'input_missing', message: err.message, retryable: false } };
  if (err instanceof StoreUnavailableError || err instanceof QueueUnavailableError)
    return { retryable: true, reason: 'dependency_unavailable' };
  if (err instanceof JobUpdateConflictError) return { retryable: true, reason: 'update_conflict' };
  if (err instanceof RangeError && /allocation|memory/i.test(err.message)) return { retryable: true, reason: 'oom' };
  if (err instanceof Error && /out of memory|\boom\b|bad_alloc|MemoryAllocation/i.test(err.message))
    return { retryable: true, reason: 'oom' };
  return { retryable: true, reason: 'model_crash' };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
