/** When and whether to try a webhook delivery again. Pure functions; the delivery worker applies them. */

export type AttemptOutcome = 'delivered' | 'retrying' | 'gave_up' | 'refused' | 'stopped';

export interface RetrySettings {
  maxAttempts: number;
  baseSeconds: number;
  maxDelaySeconds: number;
}

/** The one SQS hop limit: longer waits are re-enqueued in hops of at most this. */
export const MAX_SQS_DELAY_SECONDS = 900;

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Outcome of one attempt: 2xx delivered; 410 stops for good (the receiver says the endpoint is gone); 5xx, 429, 408
 * and network failures retry until `maxAttempts`; other answers (3xx — redirects are not followed — and 4xx) stop.
 */
export function attemptOutcome(
  result: { status: number } | { networkError: true } | { refused: true },
  attempt: number,
  maxAttempts: number,
): AttemptOutcome {
  if ('refused' in result) return 'refused';
  const retryable = 'networkError' in result || isRetryableStatus(result.status);
  if (!retryable) return 'status' in result && result.status >= 200 && result.status < 300 ? 'delivered' : 'stopped';
  return attempt >= maxAttempts ? 'gave_up' : 'retrying';
}

/**
 * Delay before attempt `attempt + 1`: base × 4^(attempt−1), capped, ±20 % jitter. With the defaults (5 s base, 6 h
 * cap, 12 attempts): 5 s, 20 s, 80 s, 5 min, 21 min, 85 min, 5.7 h, then 6 h — about 32 h in all. A `Retry-After`
 * from the receiver replaces the computed delay (still capped).
 */
export function retryDelaySeconds(
  attempt: number,
  settings: RetrySettings,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterSeconds !== undefined) return Math.max(1, Math.min(settings.maxDelaySeconds, retryAfterSeconds));
  const exp = Math.min(settings.maxDelaySeconds, settings.baseSeconds * 4 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.min(settings.maxDelaySeconds, Math.round(exp * (0.8 + 0.4 * random()))));
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date = new Date()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\s*\d+\s*$/.test(raw)) return Number(raw);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}
