import { ZodError } from 'zod';
import {
  PROBLEM_CODES,
  PROBLEM_CONTENT_TYPE,
  type Problem,
  ProblemError,
  problem,
} from '../../shared/errors/problem.ts';
import { QueueUnavailableError } from '../../shared/ports/job-queue.ts';
import { StoreUnavailableError } from '../../shared/ports/object-store.ts';

/** Seconds a client should wait after a dependency outage before retrying. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/** zod issues → the `errors` extension of a validation problem. */
export function fieldErrors(error: ZodError, prefix: (string | number)[] = []): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.') || '(body)',
    message: issue.message,
  }));
}

export function validationProblem(error: ZodError, prefix: (string | number)[] = []): ProblemError {
  return new ProblemError('validation_failed', 'One or more fields are invalid.', {
    errors: fieldErrors(error, prefix),
  });
}

/**
 * Maps anything thrown inside a handler to a problem and its headers. Unknown errors become a bare 500 so that
 * no stack, message or dependency detail reaches the client.
 */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string>; unexpected: boolean } {
  if (err instanceof ProblemError) return { problem: err.problem, headers: err.headers, unexpected: false };
  if (err instanceof ZodError) return { problem: validationProblem(err).problem, headers: {}, unexpected: false };
  if (err instanceof StoreUnavailableError || err instanceof QueueUnavailableError)
    return {
      problem: problem('dependency_unavailable', 'Storage or queue is temporarily unreachable; retry later.'),
      headers: { 'Retry-After': String(DEPENDENCY_RETRY_AFTER_SECONDS) },
      unexpected: false,
    };
  return { problem: problem('internal_error', 'An unexpected error occurred.'), headers: {}, unexpected: true };
}

export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  // The code's registered status wins over an extension that might have shadowed `status`.
  const status = PROBLEM_CODES[p.code]?.status ?? 500;
  return new Response(JSON.stringify({ ...p, status }), {
    status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', ...headers },
  });
}
