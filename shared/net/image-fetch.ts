import { ProblemError } from '../errors/problem.ts';
import { type Resolver, safeFetch } from './ssrf.ts';

export type ImageFetcher = (url: string, options: { maxBytes: number }) => Promise<Uint8Array>;

export interface ImageFetchSettings {
  timeoutMs: number;
  maxRedirects: number;
  /** Hosts/IPs exempt from the private-address refusal (tests, the local stack). */
  allowPrivateHosts: readonly string[];
  /** Test seam: a DNS resolver instead of the system's. */
  resolve?: Resolver;
}

/**
 * Fetches an image URL for a job: SSRF-checked (every hop, pinned to the checked address), size- and time-capped.
 * The edge uses it for `image_url` and the worker for batch items; failures are `image_fetch_failed` (or
 * `url_not_allowed`), never a 5xx.
 */
export function createImageFetcher(settings: ImageFetchSettings): ImageFetcher {
  return async (url, { maxBytes }) => {
    const res = await safeFetch(url, {
      ...(settings.resolve ? { resolve: settings.resolve } : {}),
      maxBytes,
      timeoutMs: settings.timeoutMs,
      maxRedirects: settings.maxRedirects,
      allowPrivateHosts: [...settings.allowPrivateHosts],
      headers: { accept: 'image/*' },
    }).catch((err: unknown) => {
      if (err instanceof ProblemError) throw err;
      throw new ProblemError('image_fetch_failed', 'The image URL could not be fetched.');
    });
    if (res.status < 200 || res.status > 299)
      throw new ProblemError('image_fetch_failed', `The image URL answered HTTP ${res.status}.`, {
        upstream_status: res.status,
      });
    return res.body;
  };
}
