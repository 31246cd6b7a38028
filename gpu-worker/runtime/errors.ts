import type { JobError } from '../../shared/index.ts';
import { JobUpdateConflictError, QueueUnavailableError, StoreUnavailableError } from '../../shared/index.ts';
import { AnalyzeError } from '../analyzer-errors.ts';

/** The job's input object is gone or unreadable: retrying cannot help. */
export class InputMissingError extends Error {
  constructor(key: string) {
    super(`job input ${key} does not exist`);
    this.name = 'InputMissingError';
  }
}

/**
 * A batch item's image could not be fetched or prepared (`image_fetch_failed`, `url_not_allowed`, `image_corrupt`,
 * `image_too_large`, `unsupported_media_type`, `payload_too_large`): the item fails alone, at once, with the code the
 * API would have answered for the same image.
 */
export class ItemImageError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ItemImageError';
  }
}

export type FailureClass = { retryable: true; reason: string } | { retryable: false; error: JobError };

/**
 * Sorts a failure by its type into "try again later" (the model crashed or ran out of memory, storage or queue was
 * down, a write kept losing races) and "this job can never succeed" (bad input, prompt over the context). Anything
 * else counts as a model crash, so it is retried: the receive count caps it.
 */
export function classifyFailure(err: unknown): FailureClass {
  if (err instanceof AnalyzeError)
    return err.retryable
      ? { retryable: true, reason: err.code }
      : { retryable: false, error: { code: err.code, message: err.message, retryable: false } };
  if (err instanceof ItemImageError)
    return { retryable: false, error: { code: err.code, message: err.message, retryable: false } };
  if (err instanceof InputMissingError)
    return { retryable: false, error: { code: 'input_missing', message: err.message, retryable: false } };
  if (err instanceof StoreUnavailableError || err instanceof QueueUnavailableError)
    return { retryable: true, reason: 'dependency_unavailable' };
  if (err instanceof JobUpdateConflictError) return { retryable: true, reason: 'update_conflict' };
  return { retryable: true, reason: 'model_crash' };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
