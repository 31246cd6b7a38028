/**
 * RFC 9457 problem details with stable, machine-readable codes.
 * The `type` URI is derived from the code so clients can switch on either.
 */

export const PROBLEM_TYPE_BASE = 'https://yi-vl-pipeline.dev/problems/';

/** Every code the API or the worker can emit, with its HTTP status and a fixed human title. */
export const PROBLEM_CODES = {
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  validation_failed: { status: 422, title: 'The request is not valid' },
  malformed_request: { status: 400, title: 'The request body could not be parsed' },
  payload_too_large: { status: 413, title: 'The upload exceeds the byte limit' },
  unsupported_media_type: { status: 415, title: 'The image format is not supported' },
  image_too_large: { status: 422, title: 'The image exceeds the pixel limits' },
  image_corrupt: { status: 422, title: 'The image could not be decoded' },
  image_fetch_failed: { status: 422, title: 'The image URL could not be fetched' },
  url_not_allowed: { status: 422, title: 'The URL points at a disallowed address' },
  idempotency_key_reused: { status: 422, title: 'The Idempotency-Key was used with a different request' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  job_not_cancelable: { status: 409, title: 'The job has already ended' },
  batch_not_cancelable: { status: 409, title: 'The batch has already ended' },
  batches_unavailable: { status: 503, title: 'This deployment has no batch queue' },
  parent_not_usable: { status: 409, title: 'The parent job cannot be followed up' },
  rate_limited: { status: 429, title: 'Too many requests' },
  queue_full: { status: 429, title: 'The queue is at capacity' },
  instance_busy: { status: 429, title: 'This edge instance is at its upload limit' },
  dependency_unavailable: { status: 503, title: 'A storage or queue dependency is unavailable' },
  internal_error: { status: 500, title: 'Internal error' },
  // Job failure codes (recorded on job.error; not HTTP responses).
  input_missing: { status: 422, title: 'The job input object is missing' },
  input_invalid: { status: 422, title: 'The job input could not be processed' },
  model_error: { status: 500, title: 'The model failed' },
  run_timeout: { status: 504, title: 'The job exceeded its run time limit' },
  queue_ttl_expired: { status: 410, title: 'The job waited in the queue past its time-to-live' },
  too_many_attempts: { status: 500, title: 'The job failed on every delivery attempt' },
  context_too_long: { status: 422, title: 'The conversation does not fit the model context' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ProblemCode;
  /** Field-level validation errors, when the problem is about request fields. */
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

export function problem(code: ProblemCode, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  const { status, title } = PROBLEM_CODES[code];
  return {
    type: `${PROBLEM_TYPE_BASE}${code.replaceAll('_', '-')}`,
    title,
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...extensions,
  };
}

/** An error that carries a problem; thrown anywhere, rendered once at the boundary. */
export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;
  constructor(
    code: ProblemCode,
    detail?: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail ?? PROBLEM_CODES[code].title);
    this.name = 'ProblemError';
    this.problem = problem(code, detail, extensions);
    this.headers = headers;
  }
  get status(): number {
    return this.problem.status;
  }
  get code(): ProblemCode {
    return this.problem.code;
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
