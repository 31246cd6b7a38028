/**
 * SSRF-safe outbound HTTP for Node (remote image fetches, webhook deliveries). The host is resolved once, every
 * resolved address is checked against the address policy, and the connection is pinned to the checked address (so a
 * DNS answer cannot change between check and connect). Redirects are followed manually, each hop checked again.
 * Why not a library: request-filtering-agent checks at connect time but offers no per-hop byte/time caps or the
 * allow-list semantics we need; the classification itself is ipaddr.js.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ProblemError } from '../errors/problem.ts';
import { checkUrlShape, hostOf, isAllowed, isForbiddenAddress, type UrlPolicy } from './address-policy.ts';

export { checkUrlShape, isForbiddenAddress, parseAllowList, type UrlPolicy } from './address-policy.ts';

export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;
const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Resolves the URL's host and refuses it if any address is forbidden (a name must not mix public and private). */
export async function assertPublicUrl(
  raw: string,
  policy: UrlPolicy & { resolve?: Resolver } = {},
): Promise<ResolvedTarget> {
  const url = checkUrlShape(raw, policy);
  const host = hostOf(url);
  let addresses: { address: string; family: number }[];
  try {
    addresses = await (policy.resolve ?? defaultResolver)(host);
  } catch {
    throw new ProblemError('image_fetch_failed', `could not resolve ${host}`);
  }
  if (addresses.length === 0) throw new ProblemError('image_fetch_failed', `could not resolve ${host}`);
  const allowed = isAllowed(host, policy);
  for (const a of addresses) {
    if (!allowed && !isAllowed(a.address, policy) && isForbiddenAddress(a.address)) {
      throw new ProblemError('url_not_allowed', 'the URL resolves to a private, loopback or link-local address');
    }
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

export interface SafeFetchOptions extends UrlPolicy {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  maxBytes: number;
  timeoutMs: number;
  /** 0 means redirects are returned as responses, not followed. */
  maxRedirects: number;
  resolve?: Resolver;
  signal?: AbortSignal;
}

export interface SafeFetchResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  url: string;
}

/** Thrown when the response exceeds `maxBytes`. */
export class ResponseTooLargeError extends ProblemError {
  constructor(maxBytes: number) {
    super('payload_too_large', `the response exceeds ${maxBytes} bytes`);
  }
}

export async function safeFetch(raw: string, options: SafeFetchOptions): Promise<SafeFetchResponse> {
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)])
    : AbortSignal.timeout(options.timeoutMs);
  let current = raw;
  for (let hop = 0; ; hop++) {
    const target = await assertPublicUrl(current, options);
    const res = await requestOnce(target, options, signal);
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof location === 'string' && options.maxRedirects > 0) {
      if (hop >= options.maxRedirects) throw new ProblemError('image_fetch_failed', 'too many redirects');
      current = new URL(location, target.url).toString();
      continue;
    }
    return res;
  }
}

function requestOnce(
  target: ResolvedTarget,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<SafeFetchResponse> {
  // Pin the connection to the address we checked.
  const lookup: LookupFunction = (_host, opts, cb) => {
    if (opts?.all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target.url,
      { method: options.method ?? 'GET', headers: options.headers, lookup, signal },
      (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > options.maxBytes) {
          res.destroy();
          reject(new ResponseTooLargeError(options.maxBytes));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > options.maxBytes) {
            res.destroy();
            reject(new ResponseTooLargeError(options.maxBytes));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: new Uint8Array(Buffer.concat(chunks)),
            url: target.url.toString(),
          }),
        );
        res.on('error', (err) => reject(toFetchError(err, signal)));
      },
    );
    req.on('error', (err) => reject(toFetchError(err, signal)));
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function toFetchError(err: unknown, signal: AbortSignal): Error {
  if (err instanceof ProblemError) return err;
  if (signal.aborted) return new ProblemError('image_fetch_failed', 'the request timed out');
  return new ProblemError('image_fetch_failed', `the request failed: ${(err as Error).message}`);
}
