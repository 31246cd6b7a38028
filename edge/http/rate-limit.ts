/**
 * Per-API-key token bucket, in this instance's memory: capacity = the per-minute limit, refilled continuously.
 * With N edge instances a key can get up to N × the limit (see docs/api.md, "Limits").
 */
export interface RateDecision {
  ok: boolean;
  /** Whole seconds until one request would be allowed (only when !ok). */
  retryAfterSeconds: number;
  remaining: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(private readonly perMinute: number) {
    this.perMs = perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  take(key: string, nowMs: number): RateDecision {
    if (!this.enabled) return { ok: true, retryAfterSeconds: 0, remaining: Number.POSITIVE_INFINITY };
    const b = this.buckets.get(key) ?? { tokens: this.perMinute, at: nowMs };
    b.tokens = Math.min(this.perMinute, b.tokens + Math.max(0, nowMs - b.at) * this.perMs);
    b.at = nowMs;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true, retryAfterSeconds: 0, remaining: Math.floor(b.tokens) };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)), remaining: 0 };
  }
}
