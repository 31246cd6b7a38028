/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification on Web Crypto, so the same code runs
 * on Node, Lambda and Cloudflare Workers. Signed content is `${id}.${timestamp}.${body}`, HMAC-SHA256, base64; the
 * signature header may carry several space-separated `v1,<sig>` entries (secret rotation).
 */
import { constantTimeEqual } from '../crypto/constant-time.ts';

const SECRET_PREFIX = 'whsec_';
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const encoder = new TextEncoder();

export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Decodes a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
export function secretBytes(secret: string): Uint8Array {
  const raw = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  try {
    const bytes = fromBase64(raw);
    if (bytes.byteLength < 16) throw new Error('short');
    return bytes;
  } catch {
    throw new WebhookVerificationError('webhook secret must be whsec_ followed by base64 of at least 16 bytes');
  }
}

export function encodeSecret(bytes: Uint8Array): string {
  return SECRET_PREFIX + toBase64(bytes);
}

export function generateSecret(): string {
  return encodeSecret(crypto.getRandomValues(new Uint8Array(32)));
}

async function hmac(key: Uint8Array, content: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(content)));
}

export async function sign(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  const mac = await hmac(secretBytes(secret), `${id}.${timestampSeconds}.${body}`);
  return `v1,${toBase64(mac)}`;
}

/** Headers for one delivery; pass several secrets during rotation and every one signs. */
export async function signedHeaders(
  secrets: string | readonly string[],
  id: string,
  body: string,
  now: Date = new Date(),
): Promise<WebhookHeaders> {
  const ts = Math.floor(now.getTime() / 1000);
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  const signatures = await Promise.all(list.map((s) => sign(s, id, ts, body)));
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatures.join(' ') };
}

/**
 * Verifies a delivery against any of the given secrets. Throws on a missing header, a timestamp outside the
 * tolerance (replay), or no matching `v1` signature.
 */
export async function verify(
  secrets: string | readonly string[],
  body: string,
  headers: Record<string, string | undefined> | Headers,
  options: { toleranceSeconds?: number; now?: Date } = {},
): Promise<void> {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]) ?? undefined;
  const id = get('webhook-id');
  const timestamp = get('webhook-timestamp');
  const signature = get('webhook-signature');
  if (!id || !timestamp || !signature) throw new WebhookVerificationError('missing webhook headers');
  // Only the canonical decimal form is signed: `Number()` would also take " 17…", "017…", "17….0" or "0x…" and let
  // one signature verify under several different headers.
  if (!/^(0|[1-9]\d{0,15})$/.test(timestamp)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const ts = Number(timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (ts < now - tolerance) throw new WebhookVerificationError('webhook timestamp too old');
  if (ts > now + tolerance) throw new WebhookVerificationError('webhook timestamp too new');
  const candidates = signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  for (const secret of list) {
    const expected = (await sign(secret, id, ts, body)).slice(3);
    if (candidates.some((c) => constantTimeEqual(c, expected))) return;
  }
  throw new WebhookVerificationError('no matching signature');
}

/**
 * The signing secret of one API key, derived from a deployment-wide master key: the edge can show it to the key's
 * owner and the worker can sign with it, with no secret store. Rotating the master rotates every key's secret.
 */
export async function deriveWebhookSecret(masterKey: string, apiKeyId: string): Promise<string> {
  const mac = await hmac(encoder.encode(masterKey), `yi-vl-pipeline/webhook-secret/v1/${apiKeyId}`);
  return encodeSecret(mac);
}
