import { sha256Hex } from './crypto/sha256.ts';

/**
 * Time-ordered identifiers: `job_` + 10 chars of millisecond time + 16 random chars, Crockford base32.
 * Lexicographic order equals creation order, so S3 listings page through jobs chronologically.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** One character of ALPHABET (no i, l, o, u) as a regex character class. */
const ID_CHAR = '[0-9a-hjkmnp-tv-z]';

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function randomChars(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export function newJobId(now: number = Date.now()): string {
  return `job_${encodeTime(now)}${randomChars(16)}`;
}

/** A job id, unanchored: for patterns that embed one (object keys). The one definition every check derives from. */
export const JOB_ID_SOURCE = `job_${ID_CHAR}{26}`;

/** Exactly a job id as `newJobId` makes them; `JOB_ID_PATTERN.source` is the OpenAPI `pattern`. */
export const JOB_ID_PATTERN = new RegExp(`^${JOB_ID_SOURCE}$`);

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

export function newBatchId(now: number = Date.now()): string {
  return `batch_${encodeTime(now)}${randomChars(16)}`;
}

/** A batch id, unanchored; batches are time-ordered like jobs. */
export const BATCH_ID_SOURCE = `batch_${ID_CHAR}{26}`;
export const BATCH_ID_PATTERN = new RegExp(`^${BATCH_ID_SOURCE}$`);

export function isBatchId(value: string): boolean {
  return BATCH_ID_PATTERN.test(value);
}

/**
 * The id of a batch's terminal event (`batch.completed` / `batch.canceled`): its completion time plus the batch id's
 * random part, so a writer that finds it missing writes it again without duplicating it.
 */
export function batchEventId(batchId: string, atMs: number, kind: 'queued' | 'ended'): string {
  const random = batchId.slice(-16);
  const tail = kind === 'queued' ? random : [...random].map((c) => ALPHABET[(ALPHABET.indexOf(c) + 2) % 32]).join('');
  return `evt_${encodeTime(atMs)}${tail}`;
}

const BITS_80 = (1n << 80n) - 1n;
/** An odd multiplier: `index → seed + index × STEP (mod 2^80)` is one-to-one, so no two items share an id. */
const STEP = 0x9e3779b97f4a7c15f39cn | 1n;

/**
 * The job ids of a batch's items: the batch's time prefix and 16 characters derived from SHA-256 of the batch id
 * and the item's index. Deterministic, so a retry that takes a half-done create over writes byte-identical items and
 * index files; distinct within the batch, and as unguessable across batches as the batch id itself.
 */
export async function itemJobIds(batchId: string, count: number): Promise<string[]> {
  const seed = BigInt(`0x${(await sha256Hex(batchId)).slice(0, 20)}`);
  const prefix = `job_${batchId.slice('batch_'.length, 'batch_'.length + 10)}`;
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    let x = (seed + BigInt(i) * STEP) & BITS_80;
    let random = '';
    for (let j = 0; j < 16; j++) {
      random = ALPHABET[Number(x & 31n)] + random;
      x >>= 5n;
    }
    out[i] = prefix + random;
  }
  return out;
}

/** Tenant ids become object-key segments: keep them to a safe alphabet. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function newEventId(now: number = Date.now()): string {
  return `evt_${encodeTime(now)}${randomChars(16)}`;
}

/**
 * The id of a job's terminal event: its completion time plus the job id's random part shifted by one letter (so it
 * never equals the `job.queued` event's id, which reuses the job id's). Deterministic, so a writer that finds the
 * event missing can write it again without duplicating it.
 */
export function terminalEventId(jobId: string, completedAtMs: number): string {
  const shifted = [...jobId.slice(-16)].map((c) => ALPHABET[(ALPHABET.indexOf(c) + 1) % 32]).join('');
  return `evt_${encodeTime(completedAtMs)}${shifted}`;
}
