/**
 * Seconds a failed job message stays invisible before its next try: exponential in the receive count, capped, with
 * "equal jitter" (half fixed, half random) so a crash-looping fleet does not retry in lockstep.
 */
export function jobRetryDelaySeconds(
  receiveCount: number,
  baseSeconds: number,
  maxSeconds: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, receiveCount - 1));
  return Math.min(43_200, Math.round(exp / 2 + (exp / 2) * random()));
}
