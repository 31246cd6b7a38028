import { z } from 'zod';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { type BatchItem, BatchItemSchema } from '../../shared/schemas/batch.ts';
import {
  BATCH_WEBHOOK_EVENT_TYPES,
  type BatchWebhookEventType,
  BatchWebhookEventTypeSchema,
  MetadataSchema,
} from '../../shared/schemas/job.ts';
import { multipartFormOf, readBodyCapped } from '../http/read-body.ts';

export interface BatchLimits {
  maxItems: number;
  maxBytes: number;
  maxLineBytes: number;
  /** Largest decoded image a `data:` URL may carry. */
  maxImageBytes: number;
}

export interface CreateBatchRequest {
  items: BatchItem[];
  webhook?: { url: string; events: BatchWebhookEventType[] };
  metadata?: Record<string, string>;
  /** What identifies "the same request" for Idempotency-Key: the requests file's bytes and the form fields. */
  fingerprintInput(): Promise<unknown>;
}

export interface LineError {
  path: string;
  message: string;
}

/** A 422 lists at most this many problems; `total_errors` says how many there were. */
export const MAX_REPORTED_ERRORS = 100;
/** Room for the multipart framing and the small form fields around the requests file. */
const FIELDS_ALLOWANCE = 256 * 1024;
const FORM_FIELDS = new Set(['requests', 'webhook', 'webhook_events', 'metadata']);
const HttpUrlSchema = z.url({ protocol: /^https?$/ });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL_HEAD = /^data:([^,]*?),/i;

function invalid(errors: LineError[], total = errors.length): ProblemError {
  return new ProblemError('validation_failed', 'One or more fields are invalid.', {
    errors: errors.slice(0, MAX_REPORTED_ERRORS),
    ...(total > MAX_REPORTED_ERRORS ? { total_errors: total } : {}),
  });
}

function tooLarge(detail: string, extensions: Record<string, unknown>): ProblemError {
  return new ProblemError('payload_too_large', detail, extensions);
}

/** Parses and validates a `POST /v1/batches` body in full; nothing about it is stored before this returns. */
export async function parseBatchRequest(req: Request, limits: BatchLimits): Promise<CreateBatchRequest> {
  const type = (req.headers.get('content-type') ?? '').toLowerCase();
  if (!type.startsWith('multipart/form-data'))
    throw new ProblemError('malformed_request', 'Content-Type must be multipart/form-data with a requests part.');
  let body: Uint8Array;
  try {
    body = await readBodyCapped(req, limits.maxBytes + FIELDS_ALLOWANCE);
  } catch (err) {
    if (err instanceof ProblemError && err.code === 'payload_too_large') throw fileTooLarge(limits.maxBytes);
    throw err;
  }
  const form = await multipartFormOf(req, body);

  const errors: LineError[] = [];
  for (const name of new Set(form.keys()))
    if (!FORM_FIELDS.has(name)) errors.push({ path: name, message: 'unknown field' });
  const texts = (name: string): string[] | null => {
    const values = form.getAll(name);
    if (values.some((v) => typeof v !== 'string')) {
      errors.push({ path: name, message: 'must be a text field, not a file' });
      return null;
    }
    return values as string[];
  };

  const webhookTexts = texts('webhook');
  let webhookUrl: string | undefined;
  if (webhookTexts && webhookTexts.length > 1) errors.push({ path: 'webhook', message: 'given more than once' });
  else if (webhookTexts?.length === 1) {
    const res = HttpUrlSchema.max(2048).safeParse(webhookTexts[0]);
    if (res.success) webhookUrl = res.data;
    else errors.push({ path: 'webhook', message: 'must be an http(s) URL of at most 2048 characters' });
  }
  let events: BatchWebhookEventType[] = [...BATCH_WEBHOOK_EVENT_TYPES];
  const eventTexts = texts('webhook_events');
  if (eventTexts?.length) {
    const given = eventTexts.flatMap((t) => t.split(',').map((s) => s.trim())).filter(Boolean);
    const res = z.array(BatchWebhookEventTypeSchema).min(1).safeParse(given);
    if (res.success) events = [...new Set(res.data)];
    else
      errors.push({
        path: 'webhook_events',
        message: `must list one or more of ${BATCH_WEBHOOK_EVENT_TYPES.join(', ')}`,
      });
  }
  let metadata: Record<string, string> | undefined;
  const metadataTexts = texts('metadata');
  if (metadataTexts && metadataTexts.length > 1) errors.push({ path: 'metadata', message: 'given more than once' });
  else if (metadataTexts?.length === 1) {
    const parsed = parseJson(metadataTexts[0]!);
    const res = MetadataSchema.safeParse(parsed.ok ? parsed.value : undefined);
    if (parsed.ok && res.success && !hasProtoKey(parsed.value)) metadata = res.data;
    else errors.push({ path: 'metadata', message: 'must be a JSON object of string values' });
  }

  const requestsParts = form.getAll('requests');
  if (requestsParts.length !== 1) {
    errors.push({
      path: 'requests',
      message: requestsParts.length
        ? 'must be given once'
        : 'required: a file part (or text field) of JSON Lines, one request per line',
    });
    throw invalid(errors);
  }
  const part = requestsParts[0]!;
  const file = typeof part === 'string' ? new TextEncoder().encode(part) : new Uint8Array(await part.arrayBuffer());
  if (file.byteLength > limits.maxBytes) throw fileTooLarge(limits.maxBytes);
  if (errors.length) throw invalid(errors);

  const items = parseLines(file, limits);
  return {
    items,
    ...(webhookUrl ? { webhook: { url: webhookUrl, events } } : {}),
    ...(metadata ? { metadata } : {}),
    fingerprintInput: async () => ({
      requests_sha256: await sha256Hex(file),
      webhook: webhookUrl ?? null,
      webhook_events: webhookUrl ? [...events].sort() : null,
      metadata: metadata ?? null,
    }),
  };
}

function fileTooLarge(maxBytes: number): ProblemError {
  return tooLarge(`The batch requests file exceeds ${maxBytes} bytes.`, { max_bytes: maxBytes });
}

/** Byte ranges of the file's lines (LF or CRLF), in order; the last line needs no newline. */
function lineRanges(file: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (;;) {
    const nl = file.indexOf(0x0a, start);
    const end = nl === -1 ? file.byteLength : nl;
    out.push([start, end > start && file[end - 1] === 0x0d ? end - 1 : end]);
    if (nl === -1) break;
    start = nl + 1;
  }
  // A final newline ends the last line; it does not start an empty one.
  if (out.length > 1 && out.at(-1)![0] === file.byteLength) out.pop();
  return out;
}

function isBlank(file: Uint8Array, [start, end]: [number, number]): boolean {
  for (let i = start; i < end; i++) {
    const b = file[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  }
  return true;
}

/**
 * Validates every line (1-based physical line numbers; blank lines are skipped but counted), checking the limits
 * first so an oversized file costs no JSON parsing. All problems are gathered, up to the reporting cap.
 */
export function parseLines(file: Uint8Array, limits: BatchLimits): BatchItem[] {
  const ranges = lineRanges(file);
  const lines: { number: number; range: [number, number] }[] = [];
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i]!;
    if (range[1] - range[0] > limits.maxLineBytes)
      throw tooLarge(`Line ${i + 1} of the requests file exceeds ${limits.maxLineBytes} bytes.`, {
        max_line_bytes: limits.maxLineBytes,
        line: i + 1,
      });
    if (!isBlank(file, range)) lines.push({ number: i + 1, range });
  }
  if (lines.length > limits.maxItems)
    throw tooLarge(`The batch has ${lines.length} requests; at most ${limits.maxItems} are accepted.`, {
      max_items: limits.maxItems,
    });
  if (lines.length === 0) throw invalid([{ path: 'requests', message: 'the file holds no requests' }]);

  const decoder = new TextDecoder('utf-8', { fatal: true });
  const errors: LineError[] = [];
  let total = 0;
  const report = (e: LineError) => {
    total++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(e);
  };
  const firstLineOf = new Map<string, number>();
  const items: BatchItem[] = [];
  for (const { number, range } of lines) {
    const at = `requests[${number}]`;
    let text: string;
    try {
      text = decoder.decode(file.subarray(range[0], range[1]));
    } catch {
      report({ path: at, message: 'not valid UTF-8' });
      continue;
    }
    const parsed = parseJson(text);
    if (!parsed.ok) {
      report({ path: at, message: `not valid JSON: ${parsed.message}` });
      continue;
    }
    const value = parsed.value;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      report({ path: at, message: 'must be a JSON object' });
      continue;
    }
    const before = total;
    const record = value as Record<string, unknown>;
    if (hasProtoKey(record.metadata)) report({ path: `${at}.metadata`, message: 'the key __proto__ is not allowed' });
    const res = BatchItemSchema.safeParse(record);
    if (!res.success)
      for (const issue of res.error.issues) {
        if (issue.code === 'unrecognized_keys')
          for (const key of issue.keys)
            report({ path: [at, ...issue.path.map(String), key].join('.'), message: 'unknown field' });
        else report({ path: [at, ...issue.path.map(String)].join('.'), message: issue.message });
      }
    if (typeof record.image_url === 'string') {
      const problem = imageUrlProblem(record.image_url, limits.maxImageBytes);
      if (problem) report({ path: `${at}.image_url`, message: problem });
    }
    if (typeof record.custom_id === 'string') {
      const first = firstLineOf.get(record.custom_id);
      if (first !== undefined)
        report({ path: `${at}.custom_id`, message: `duplicate custom_id: first used on line ${first}` });
      else firstLineOf.set(record.custom_id, number);
    }
    if (total === before && res.success) items.push(res.data);
  }
  if (total > 0) throw invalid(errors, total);
  return items;
}

/**
 * Checks an `image_url` without fetching or decoding it: an http(s) URL, or a base64 `data:` URL whose payload is
 * well-formed base64 and decodes to at most `maxBytes` (computed from its length).
 */
export function imageUrlProblem(url: string, maxBytes: number): string | null {
  if (!/^data:/i.test(url))
    return HttpUrlSchema.safeParse(url).success ? null : 'must be an http(s) URL or a base64 data: URL';
  const head = DATA_URL_HEAD.exec(url.slice(0, 512));
  if (!head || !/;base64$/i.test(head[1]!)) return 'data: URLs must be base64-encoded';
  let payload = url.slice(head[0].length);
  if (/\s/.test(payload)) payload = payload.replace(/\s+/g, '');
  if (payload.length === 0 || payload.length % 4 !== 0 || !BASE64.test(payload))
    return 'the data: URL is not valid base64';
  const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
  const decoded = (payload.length / 4) * 3 - padding;
  if (decoded > maxBytes) return `the image exceeds ${maxBytes} bytes`;
  return null;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

// zod strips an own `__proto__` key from records without validating it, so metadata would lose it silently.
function hasProtoKey(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__');
}
