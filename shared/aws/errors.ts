/** Classifies AWS SDK v3 failures without depending on the SDK's error classes (they differ per service). */
interface SdkErrorLike {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as SdkErrorLike | null)?.$metadata?.httpStatusCode;
}

export function errorName(err: unknown): string {
  const e = err as SdkErrorLike | null;
  return e?.name ?? e?.code ?? '';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** True when the failure is the dependency's (down, 5xx, throttled, timed out), so a retry later may succeed. */
export function isUnavailable(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status !== undefined) return status >= 500 || status === 429;
  const e = err as (SdkErrorLike & { cause?: { code?: string } }) | null;
  const code = e?.code ?? e?.cause?.code ?? '';
  return (
    NETWORK_CODES.has(code) ||
    ['TimeoutError', 'RequestTimeout', 'NetworkingError', 'AbortError'].includes(errorName(err)) ||
    /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed/i.test(String((err as Error | null)?.message ?? ''))
  );
}
