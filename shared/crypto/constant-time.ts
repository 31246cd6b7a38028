const encoder = new TextEncoder();

/**
 * Compares two strings without an early exit, so the time taken says nothing about where they differ. Web Crypto has
 * no timingSafeEqual (node:crypto's does not exist on Workers), hence this loop.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
