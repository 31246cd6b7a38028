/**
 * Raw `multipart/form-data` bodies for `POST /v1/jobs`, built byte by byte: the parts a client may send (an image
 * file, known text fields with valid and invalid values, unknown fields, files where text belongs, duplicates, huge
 * and non-UTF-8 text), then framing damage (boundary mismatch or missing, truncation, bare LF, preamble, odd
 * Content-Disposition, flipped bytes, a false Content-Length). Each body carries the oracle's verdict, judged from
 * docs/api.md.
 */
import fc from 'fast-check';
import type { Verdict } from '../intake-stack.ts';

export interface MultipartFixtures {
  image: Uint8Array;
  parentOk: string;
  parentQueued: string;
}

interface Part {
  name: Uint8Array;
  filename?: string;
  contentType?: string;
  body: Uint8Array;
}

/** What a part means to the oracle. */
type Effect =
  | { kind: 'image-file'; verdict: Verdict }
  | { kind: 'text'; field: string; text: string; verdict: Verdict }
  | { kind: 'file-for-text'; field: string }
  | { kind: 'unknown' }
  | { kind: 'image-text' };

interface GenPart {
  part: Part;
  effect: Effect;
}

export type MultipartCode =
  | 'malformed_request'
  | 'validation_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'image_corrupt'
  | 'url_not_allowed'
  | 'parent_not_usable';

export interface MultipartCase {
  body: Uint8Array;
  contentType: string;
  /** A Content-Length header to send (it may lie; `app.request` does not frame by it). */
  contentLength?: string;
  verdict: Verdict;
  codes?: readonly MultipartCode[];
  why: string;
}

const enc = new TextEncoder();
const utf8 = (s: string) => enc.encode(s);
const EVENTS = ['job.started', 'job.succeeded', 'job.failed', 'job.canceled'];

/** Text values per field with verdicts. Number formats beyond plain decimals are not documented: judged "either". */
function textCandidates(fx: MultipartFixtures): Record<string, [string | Uint8Array, Verdict][]> {
  return {
    prompt: [
      ['What is in this picture?', 'accept'],
      ['  padded  ', 'accept'],
      ['图片里有什么？', 'accept'],
      // Not UTF-8: decoded with replacement characters, still a non-empty prompt.
      [new Uint8Array([0xff, 0xfe, 0x41, 0xc3]), 'accept'],
      ['x'.repeat(4000), 'accept'],
      ['', 'reject'],
      ['   ', 'reject'],
      ['x'.repeat(4001), 'reject'],
    ],
    max_new_tokens: [
      ['1', 'accept'],
      ['2048', 'accept'],
      [' 7 ', 'accept'],
      ['1e3', 'accept'],
      ['0', 'reject'],
      ['2049', 'reject'],
      ['abc', 'reject'],
      ['1.5', 'reject'],
      ['', 'reject'],
      ['NaN', 'reject'],
      ['Infinity', 'reject'],
      ['9'.repeat(400), 'reject'],
      [new Uint8Array([0x31, 0xff]), 'reject'],
      ['0x10', 'either'],
      ['+5', 'either'],
    ],
    temperature: [
      ['0', 'accept'],
      ['2', 'accept'],
      ['.5', 'accept'],
      ['1e-3', 'accept'],
      ['-0.1', 'reject'],
      ['2.01', 'reject'],
      ['nan', 'reject'],
      ['1,5', 'reject'],
      ['-0', 'either'],
    ],
    top_p: [
      ['1', 'accept'],
      ['0.01', 'accept'],
      ['0', 'reject'],
      ['1.1', 'reject'],
    ],
    top_k: [
      ['0', 'accept'],
      ['1000', 'accept'],
      ['-1', 'reject'],
      ['1001', 'reject'],
      ['2.5', 'reject'],
    ],
    repetition_penalty: [
      ['0.5', 'accept'],
      ['2', 'accept'],
      ['0.4', 'reject'],
      ['2.1', 'reject'],
    ],
    seed: [
      ['0', 'accept'],
      ['4294967295', 'accept'],
      ['4294967296', 'reject'],
      ['-1', 'reject'],
      ['1.5', 'reject'],
    ],
    webhook: [
      ['http://127.0.0.1:9/hook', 'accept'],
      ['ftp://127.0.0.1/', 'reject'],
      ['not a url', 'reject'],
      ['http://10.0.0.1/x', 'reject'],
      ['http://[::1]/', 'reject'],
      ['', 'reject'],
    ],
    metadata: [
      ['{"a":"b"}', 'accept'],
      ['{}', 'accept'],
      ['[]', 'reject'],
      ['{"a":1}', 'reject'],
      ['not json', 'reject'],
      ['null', 'reject'],
      ['"str"', 'reject'],
      ['{"constructor":{"prototype":{"polluted":"yes"}}}', 'reject'],
      // Refused by the edge; zod alone would drop the key silently (see json-body.ts).
      ['{"__proto__":{"polluted":"yes"}}', 'reject'],
      ['{"__proto__":"x"}', 'reject'],
    ],
    parent: [
      [fx.parentOk, 'accept'],
      [fx.parentQueued, 'reject'],
      ['job_00000000000000000000000000', 'reject'],
      ['nope', 'reject'],
    ],
  };
}

const EVENT_TOKENS = [...EVENTS, 'job.queued', 'nope', '', ' job.failed '];

function partArb(fx: MultipartFixtures): fc.Arbitrary<GenPart> {
  const candidates = textCandidates(fx);
  const fields = Object.keys(candidates);
  const contentType = fc.option(
    fc.constantFrom('image/jpeg', 'text/plain', 'application/octet-stream', 'image/png; charset=utf-8', 'text/html'),
    { nil: undefined },
  );
  const filename = fc.constantFrom('photo.jpg', 'a', '../../etc/passwd', 'ünïcödé.png', 'x'.repeat(300));
  const imageBody = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ body: fx.image, verdict: 'accept' as Verdict }) },
    {
      weight: 1,
      arbitrary: fc.constant({ body: utf8('<svg xmlns="http://www.w3.org/2000/svg"/>'), verdict: 'reject' as Verdict }),
    },
    { weight: 1, arbitrary: fc.constant({ body: new Uint8Array(0), verdict: 'reject' as Verdict }) },
    { weight: 1, arbitrary: fc.constant({ body: fx.image.subarray(0, 40), verdict: 'reject' as Verdict }) },
  );
  const withCt = (p: Part, ct: string | undefined): Part => (ct === undefined ? p : { ...p, contentType: ct });
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc.tuple(imageBody, filename, contentType).map(([img, fn, ct]) => ({
        part: withCt({ name: utf8('image'), filename: fn, body: img.body }, ct),
        effect: { kind: 'image-file' as const, verdict: img.verdict },
      })),
    },
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...fields)
        .chain((field) => fc.constantFrom(...candidates[field]!).map(([v, verdict]) => ({ field, v, verdict })))
        .chain(({ field, v, verdict }) =>
          contentType.map((ct) => {
            const body = typeof v === 'string' ? utf8(v) : v;
            return {
              part: withCt({ name: utf8(field), body }, ct),
              effect: { kind: 'text' as const, field, text: new TextDecoder().decode(body), verdict },
            };
          }),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.array(fc.constantFrom(...EVENT_TOKENS), { minLength: 1, maxLength: 3 }).map((tokens) => {
        const text = tokens.join(',');
        return {
          part: { name: utf8('webhook_events'), body: utf8(text) },
          effect: { kind: 'text' as const, field: 'webhook_events', text, verdict: 'accept' as Verdict },
        };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom('prompt', 'temperature', 'metadata').map((field) => ({
        part: { name: utf8(field), filename: 'f.txt', contentType: 'text/plain', body: utf8('0.5') },
        effect: { kind: 'file-for-text' as const, field },
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc
            .constantFrom('temprature', 'Prompt', '__proto__', 'constructor', 'toString', '', 'image[]', 'tenant')
            .map(utf8),
          fc.constant(new Uint8Array([0x70, 0xff, 0x72])),
        )
        .map((name) => ({ part: { name, body: utf8('1') }, effect: { kind: 'unknown' as const } })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        part: { name: utf8('image'), body: fx.image },
        effect: { kind: 'image-text' as const },
      }),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 4001, max: 400_000 }).map((n) => ({
        part: { name: utf8('prompt'), body: utf8('z'.repeat(n)) },
        effect: { kind: 'text' as const, field: 'prompt', text: 'z'.repeat(n), verdict: 'reject' as Verdict },
      })),
    },
  );
}

function judge(parts: readonly GenPart[]): { verdict: Verdict; codes?: readonly MultipartCode[]; why: string } {
  const why = parts
    .map(
      (p) =>
        ('field' in p.effect ? `${p.effect.kind}:${p.effect.field}` : p.effect.kind) +
        ('verdict' in p.effect ? `→${p.effect.verdict}` : ''),
    )
    .join(' ');
  const verdicts: Verdict[] = [];
  const images = parts.filter((p) => p.effect.kind === 'image-file' || p.effect.kind === 'image-text');
  if (parts.some((p) => p.effect.kind === 'unknown' || p.effect.kind === 'file-for-text'))
    return { verdict: 'reject', codes: ['validation_failed'], why };
  if (images.length > 1 || images.some((p) => p.effect.kind === 'image-text'))
    return { verdict: 'reject', codes: ['validation_failed'], why };
  const texts = parts.flatMap((p) => (p.effect.kind === 'text' ? [p.effect] : []));
  const byField = new Map<string, typeof texts>();
  for (const t of texts) byField.set(t.field, [...(byField.get(t.field) ?? []), t]);
  for (const [field, list] of byField) {
    if (field === 'webhook_events') {
      const tokens = list.flatMap((t) => t.text.split(',').map((s) => s.trim())).filter(Boolean);
      verdicts.push(tokens.length >= 1 && tokens.every((t) => EVENTS.includes(t)) ? 'accept' : 'reject');
    } else if (list.length > 1) return { verdict: 'reject', codes: ['validation_failed'], why };
    else verdicts.push(list[0]!.verdict);
  }
  if (!byField.has('prompt')) return { verdict: 'reject', codes: ['validation_failed'], why };
  const sources = images.length + (byField.has('parent') ? 1 : 0);
  if (sources !== 1) verdicts.push('reject');
  if (images[0]?.effect.kind === 'image-file') verdicts.push(images[0].effect.verdict);
  const verdict: Verdict = verdicts.includes('reject') ? 'reject' : verdicts.includes('either') ? 'either' : 'accept';
  return { verdict, why };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A part's header values and content, where a boundary string must not occur. */
function partBytes(p: Part): Uint8Array {
  return Buffer.concat([
    p.name,
    utf8(`${p.filename ?? ''} ${p.contentType ?? ''} Content-Disposition: form-data; name filename Content-Type`),
    p.body,
  ]);
}

function latin1(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function serialise(
  parts: readonly Part[],
  boundary: string,
  eol: string,
  disposition: (name: string) => string,
): { body: Uint8Array; closeAt: number } {
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    const head =
      `--${boundary}${eol}${disposition(latin1(p.name))}${p.filename !== undefined ? `; filename="${p.filename}"` : ''}${eol}` +
      `${p.contentType ? `Content-Type: ${p.contentType}${eol}` : ''}${eol}`;
    // Header bytes as sent on the wire: names are raw bytes, filenames UTF-8.
    chunks.push(
      new Uint8Array([...head].flatMap((ch) => (ch.charCodeAt(0) < 256 ? [ch.charCodeAt(0)] : [...utf8(ch)]))),
      p.body,
      utf8(eol),
    );
  }
  const closeAt = chunks.reduce((n, c) => n + c.length, 0) + 2 + boundary.length;
  chunks.push(utf8(`--${boundary}--${eol}`));
  return { body: Buffer.concat(chunks), closeAt };
}

const boundaryChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_');
const boundaryArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: boundaryChars, minLength: 8, maxLength: 70 }) },
  { weight: 1, arbitrary: fc.string({ unit: boundaryChars, minLength: 1, maxLength: 3 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('----WebKitFormBoundary7MA4YWxkTrZu0gW', '--', "'()+_,-./:=?", 'x'.repeat(70)),
  },
);

type Framing =
  | { kind: 'none' }
  | { kind: 'quoted-boundary' }
  | { kind: 'wrong-boundary' }
  | { kind: 'no-boundary' }
  | { kind: 'truncate'; at: number }
  | { kind: 'no-final-crlf' }
  | { kind: 'bare-lf' }
  | { kind: 'preamble' }
  | { kind: 'disposition'; form: string }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'content-length'; declared: 'over-cap' | 'short' | 'long' };

const framingArb: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 24, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'quoted-boundary' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wrong-boundary' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-boundary' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'no-final-crlf' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bare-lf' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'preamble' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('disposition' as const),
      form: fc.constantFrom(
        'form-data; name=%s',
        'attachment; name="%s"',
        'FORM-DATA; NAME="%s"',
        'form-data;name="%s"',
        'form-data; name="%s"; name="x"',
        "form-data; name*=UTF-8''%s",
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('content-length' as const),
      declared: fc.constantFrom('over-cap' as const, 'short' as const, 'long' as const),
    }),
  },
);

export function multipartCaseArb(fx: MultipartFixtures, bodyCap: number): fc.Arbitrary<MultipartCase> {
  const image: GenPart = {
    part: { name: utf8('image'), filename: 'photo.jpg', contentType: 'image/jpeg', body: fx.image },
    effect: { kind: 'image-file', verdict: 'accept' },
  };
  const prompt: GenPart = {
    part: { name: utf8('prompt'), body: utf8('What is this?') },
    effect: { kind: 'text', field: 'prompt', text: 'What is this?', verdict: 'accept' },
  };
  const partsArb = fc
    .tuple(fc.array(partArb(fx), { maxLength: 4 }), fc.boolean(), fc.boolean(), fc.boolean())
    .map(([extra, withImage, withPrompt, shuffleFirst]) => {
      const parts = [
        ...(withImage || extra.length === 0 ? [image] : []),
        ...(withPrompt || extra.length === 0 ? [prompt] : []),
        ...extra,
      ];
      return shuffleFirst ? parts.reverse() : parts;
    });
  return fc.tuple(partsArb, boundaryArb, framingArb).map(([parts, boundary, framing]): MultipartCase => {
    const describe = (c: MultipartCase) => ({
      ...c,
      [fc.toStringMethod]: () =>
        `multipart ${JSON.stringify(c.contentType)} ${c.body.length} B${c.contentLength ? ` CL=${c.contentLength}` : ''}: ${c.why} ⇒ ${c.verdict}`,
    });
    const judged = judge(parts);
    const plain = (name: string) => `Content-Disposition: form-data; name="${name}"`;
    let { body, closeAt } = serialise(
      parts.map((p) => p.part),
      boundary,
      framing.kind === 'bare-lf' ? '\n' : '\r\n',
      framing.kind === 'disposition' ? (name) => `Content-Disposition: ${framing.form.replace('%s', name)}` : plain,
    );
    let contentType = `multipart/form-data; boundary=${boundary}`;
    let verdict = judged.verdict;
    let codes = judged.codes;
    let why = judged.why;
    let contentLength: string | undefined;
    const either = (what: string) => {
      verdict = verdict === 'reject' ? 'reject' : 'either';
      codes = undefined;
      why = `${why} + ${what}`;
    };
    const malformed = (what: string) => {
      verdict = 'reject';
      codes = ['malformed_request'];
      why = `${why} + ${what}`;
    };
    // Outside RFC 7230 token characters the boundary needs quoting in Content-Type; unquoted, parsers differ.
    if (!/^[A-Za-z0-9_-]+$/.test(boundary) && framing.kind !== 'quoted-boundary') either('unquoted special boundary');
    // Node 20's undici refuses a valid body when a part (headers or content) contains the boundary string itself,
    // even without the leading "--", and when the boundary is only dashes. Real clients' random boundaries never hit
    // this; judged "either" so that the fuzzer keeps checking the edge, not the platform's parser.
    if (/^-+$/.test(boundary) || parts.some((p) => contains(partBytes(p.part), utf8(boundary))))
      either('boundary string inside a part');
    switch (framing.kind) {
      case 'none':
        break;
      case 'quoted-boundary':
        contentType = `multipart/form-data; boundary="${boundary}"`;
        break;
      case 'wrong-boundary':
        contentType = `multipart/form-data; boundary=${boundary}X`;
        malformed('boundary mismatch');
        break;
      case 'no-boundary':
        contentType = 'multipart/form-data';
        malformed('no boundary');
        break;
      case 'truncate':
        body = body.subarray(0, framing.at % closeAt);
        malformed('truncated before the close delimiter');
        break;
      case 'no-final-crlf':
        body = body.subarray(0, body.length - 2);
        either('no CRLF after the close delimiter');
        break;
      case 'bare-lf':
        either('bare LF line ends');
        break;
      case 'preamble':
        body = Buffer.concat([utf8('preamble junk\r\n'), body, utf8('epilogue')]);
        either('preamble and epilogue');
        break;
      case 'disposition':
        either(`Content-Disposition ${framing.form}`);
        break;
      case 'flip': {
        const at = framing.at % body.length;
        if (body[at] !== framing.value) {
          body = body.slice();
          body[at] = framing.value;
          either('flipped byte');
        }
        break;
      }
      case 'content-length':
        contentLength = String(
          framing.declared === 'over-cap'
            ? bodyCap + 1
            : framing.declared === 'short'
              ? Math.max(0, body.length - 10)
              : body.length + 1000,
        );
        if (framing.declared === 'over-cap') {
          verdict = 'reject';
          codes = ['payload_too_large'];
        }
        why = `${why} + Content-Length ${framing.declared}`;
        break;
    }
    if (body.length > bodyCap) {
      verdict = 'reject';
      codes = ['payload_too_large'];
      why = `${why} + ${body.length} bytes`;
    }
    return describe({
      body,
      contentType,
      verdict,
      ...(codes ? { codes } : {}),
      ...(contentLength ? { contentLength } : {}),
      why,
    });
  });
}
