/** `Prefer: wait=N` (RFC 7240) for the job and batch reads that can wait for an end. */
export const MAX_WAIT_SECONDS = 60;

/** How long one re-read during a wait may take before the last good version is kept for this tick. */
export const REREAD_TIMEOUT_MS = 2_000;

/** `Prefer: wait=N`, capped at 60 s; null when absent. */
export function preferredWait(header: string | undefined): number | null {
  if (!header) return null;
  const m = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(header);
  return m ? Math.min(Number(m[1]), MAX_WAIT_SECONDS) : null;
}

/** A sleep that ends early when the client goes away. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
