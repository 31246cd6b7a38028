/**
 * Which network destinations server-side fetches (remote images, webhooks) may reach. Runtime-neutral: no Node APIs.
 * Only globally routable unicast addresses pass; private, loopback, link-local (incl. the 169.254.169.254 metadata
 * service), unique-local, CGNAT, multicast, reserved and unspecified ranges are refused, and IPv4-mapped/-embedded
 * IPv6 forms are judged by the IPv4 address they carry. ipaddr.js classifies; we only choose which classes pass.
 */
import ipaddr from 'ipaddr.js';
import { ProblemError } from '../errors/problem.ts';

const EMBEDDED_V4_RANGES = new Set(['ipv4Mapped', 'rfc6145', 'rfc6052', '6to4', 'teredo']);

export function isForbiddenAddress(ip: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(ip.replace(/^\[|\]$/g, ''));
  } catch {
    return true;
  }
  if (addr.kind() === 'ipv6') {
    const v6 = addr as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return isForbiddenAddress(v6.toIPv4Address().toString());
    const range = v6.range();
    // NAT64/6to4/Teredo can tunnel to an internal IPv4 address: refuse them outright.
    if (EMBEDDED_V4_RANGES.has(range)) return true;
    // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291): ipaddr.js calls it unicast, but it carries an IPv4 address.
    if (v6.parts.slice(0, 6).every((p) => p === 0)) return true;
    return range !== 'unicast';
  }
  return addr.range() !== 'unicast';
}

export interface UrlPolicy {
  /** Hostnames or IP literals allowed even though they are private (tests, the local stack). */
  allowPrivateHosts?: readonly string[];
}

/** Parses the allow-list variable `ALLOW_PRIVATE_TARGETS` (comma-separated hosts or IPs). */
export function parseAllowList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** Checks the shape of a URL before any DNS: http(s) only, no credentials, a host; IP literals checked at once. */
export function checkUrlShape(raw: string, policy: UrlPolicy = {}): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProblemError('url_not_allowed', 'not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ProblemError('url_not_allowed', 'only http and https URLs are allowed');
  if (url.username || url.password) throw new ProblemError('url_not_allowed', 'URLs with credentials are not allowed');
  const host = hostOf(url);
  if (!host) throw new ProblemError('url_not_allowed', 'the URL has no host');
  if (ipaddr.isValid(host) && !isAllowed(host, policy) && isForbiddenAddress(host)) {
    throw new ProblemError('url_not_allowed', 'the URL points at a private, loopback or link-local address');
  }
  return url;
}

export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

export function isAllowed(hostOrIp: string, policy: UrlPolicy): boolean {
  return (policy.allowPrivateHosts ?? []).includes(hostOrIp.toLowerCase());
}
