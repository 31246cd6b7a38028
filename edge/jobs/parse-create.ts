import { z } from 'zod';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { type JobCreateFields, JobCreateFieldsSchema } from '../../shared/schemas/job-create.ts';
import { validationProblem } from '../http/problem-response.ts';
import { multipartFormOf, readBodyCapped } from '../http/read-body.ts';

/** Where the job's image comes from. */
export type ImageSource =
  | { kind: 'upload'; bytes: Uint8Array }
  | { kind: 'data_url'; bytes: Uint8Array }
  | { kind: 'url'; url: string }
  | { kind: 'parent'; parentId: string };

export interface CreateRequest {
  fields: JobCreateFields;
  image: ImageSource;
  /**
   * What identifies "the same request" for Idempotency-Key: the validated fields plus the image's identity.
   * Lazy, because hashing the image is wasted work for requests without a key.
   */
  fingerprintInput(): Promise<unknown>;
}

/** Room for the text fields of a multipart body or the JSON around a data URL. */
const FIELDS_ALLOWANCE = 256 * 1024;
const NUMERIC_FIELDS = new Set(['max_new_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty', 'seed']);
const KNOWN_FIELDS = new Set(Object.keys(JobCreateFieldsSchema.shape));
const NUMBER_TEXT = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fieldError(path: string, message: string): ProblemError {
  return new ProblemError('validation_failed', 'One or more fields are invalid.', { errors: [{ path, message }] });
}

export async function parseCreateRequest(req: Request, maxImageBytes: number): Promise<CreateRequest> {
  const type = (req.headers.get('content-type') ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return parseMultipart(req, maxImageBytes);
  if (/^application\/([a-z0-9.+-]*\+)?json\b/.test(type)) return parseJson(req, maxImageBytes);
  throw new ProblemError('malformed_request', 'Content-Type must be multipart/form-data or application/json.');
}

async function parseMultipart(req: Request, maxImageBytes: number): Promise<CreateRequest> {
  const body = await readBodyCapped(req, maxImageBytes + FIELDS_ALLOWANCE);
  const form = await multipartFormOf(req, body);
  const raw: Record<string, unknown> = {};
  let upload: Uint8Array | null = null;
  const errors: { path: string; message: string }[] = [];
  for (const name of new Set(form.keys())) {
    const values = form.getAll(name);
    if (name === 'image') {
      const file = values[0];
      if (values.length !== 1 || typeof file === 'string' || !file)
        errors.push({ path: 'image', message: 'must be exactly one file part' });
      else {
        if (file.size > maxImageBytes)
          throw new ProblemError('payload_too_large', `The image exceeds ${maxImageBytes} bytes.`, {
            max_bytes: maxImageBytes,
          });
        upload = new Uint8Array(await file.arrayBuffer());
      }
      continue;
    }
    if (!KNOWN_FIELDS.has(name)) {
      errors.push({ path: name, message: 'unknown field' });
      continue;
    }
    if (values.some((v) => typeof v !== 'string')) {
      errors.push({ path: name, message: 'must be a text field, not a file' });
      continue;
    }
    const texts = values as string[];
    if (name === 'webhook_events') {
      raw[name] = texts.flatMap((t) => t.split(',').map((s) => s.trim())).filter(Boolean);
      continue;
    }
    if (texts.length > 1) {
      errors.push({ path: name, message: 'given more than once' });
      continue;
    }
    const text = texts[0]!;
    if (NUMERIC_FIELDS.has(name)) raw[name] = NUMBER_TEXT.test(text.trim()) ? Number(text) : text;
    else if (name === 'metadata') {
      try {
        raw[name] = JSON.parse(text);
      } catch {
        errors.push({ path: 'metadata', message: 'must be a JSON object of string values' });
      }
    } else if (name === 'response_format') {
      try {
        raw[name] = JSON.parse(text);
      } catch {
        errors.push({ path: 'response_format', message: 'must be a JSON object (a JSON-encoded text field)' });
      }
    } else raw[name] = text;
  }
  if (errors.length) throw new ProblemError('validation_failed', 'One or more fields are invalid.', { errors });
  return finish(raw, upload, maxImageBytes);
}

async function parseJson(req: Request, maxImageBytes: number): Promise<CreateRequest> {
  // A data: URL carries the image as base64: 4 characters per 3 bytes.
  const body = await readBodyCapped(req, Math.ceil((maxImageBytes * 4) / 3) + FIELDS_ALLOWANCE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new ProblemError('malformed_request', 'The body is not valid JSON.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ProblemError('malformed_request', 'The JSON body must be an object.');
  const unknown = Object.keys(parsed).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length)
    throw new ProblemError('validation_failed', 'One or more fields are invalid.', {
      errors: unknown.map((path) => ({ path, message: 'unknown field' })),
    });
  return finish(parsed as Record<string, unknown>, null, maxImageBytes);
}

async function finish(
  raw: Record<string, unknown>,
  upload: Uint8Array | null,
  maxImageBytes: number,
): Promise<CreateRequest> {
  // zod strips an own `__proto__` key from records without validating it, so metadata would lose it silently
  // instead of echoing it back: refuse it like any other invalid key.
  const metadata = raw.metadata;
  if (typeof metadata === 'object' && metadata !== null && Object.hasOwn(metadata, '__proto__'))
    throw fieldError('metadata', 'the key __proto__ is not allowed');
  const res = JobCreateFieldsSchema.safeParse(raw);
  if (!res.success) throw validationProblem(res.error);
  const fields = res.data;
  const sources = [upload ? 'image' : null, fields.image_url ? 'image_url' : null, fields.parent ? 'parent' : null];
  const given = sources.filter(Boolean);
  if (given.length !== 1)
    throw fieldError(
      given.length ? given.join(',') : 'image',
      given.length
        ? 'give exactly one of image, image_url, parent'
        : 'an image is required: an image file part, image_url, or parent',
    );
  let image: ImageSource;
  let identity: () => Promise<Record<string, string>>;
  if (upload) {
    const bytes = upload;
    image = { kind: 'upload', bytes };
    identity = async () => ({ image_sha256: await sha256Hex(bytes) });
  } else if (fields.parent) {
    const parentId = fields.parent;
    image = { kind: 'parent', parentId };
    identity = async () => ({ parent: parentId });
  } else {
    const url = fields.image_url!;
    if (/^data:/i.test(url)) {
      const bytes = decodeDataUrl(url, maxImageBytes);
      image = { kind: 'data_url', bytes };
      identity = async () => ({ image_sha256: await sha256Hex(bytes) });
    } else {
      if (!z.url({ protocol: /^https?$/ }).safeParse(url).success)
        throw fieldError('image_url', 'must be an http(s) URL or a base64 data: URL');
      image = { kind: 'url', url };
      identity = async () => ({ image_url: url });
    }
  }
  const { image_url: _u, ...rest } = fields;
  return { fields, image, fingerprintInput: async () => ({ ...rest, ...(await identity()) }) };
}

const DATA_URL = /^data:([^,]*?),/i;

function decodeDataUrl(url: string, maxImageBytes: number): Uint8Array {
  const head = DATA_URL.exec(url.slice(0, 512));
  if (!head || !/;base64$/i.test(head[1]!)) throw fieldError('image_url', 'data: URLs must be base64-encoded');
  const payload = url.slice(head[0].length).replace(/\s+/g, '');
  if (Math.floor((payload.length * 3) / 4) - 2 > maxImageBytes)
    throw new ProblemError('payload_too_large', `The image exceeds ${maxImageBytes} bytes.`, {
      max_bytes: maxImageBytes,
    });
  let binary: string;
  try {
    binary = atob(payload);
  } catch {
    throw fieldError('image_url', 'the data: URL is not valid base64');
  }
  if (binary.length > maxImageBytes)
    throw new ProblemError('payload_too_large', `The image exceeds ${maxImageBytes} bytes.`, {
      max_bytes: maxImageBytes,
    });
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
