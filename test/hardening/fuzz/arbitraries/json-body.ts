/**
 * JSON bodies for `POST /v1/jobs`: a valid request with 0–3 fields overridden by curated edge cases or arbitrary JSON,
 * unknown and prototype-pollution keys, deep nesting, giant strings and numbers; each value carries the oracle's
 * verdict, judged from docs/api.md rather than from the schema.
 */
import fc from 'fast-check';
import type { Verdict } from '../intake-stack.ts';

/** A JSON value as text (so giant number literals and deep nesting survive), with the verdict for its field. */
export interface FieldValue {
  text: string;
  verdict: Verdict;
  /** For image sources: does it count as given (a non-empty value)? */
  given?: boolean;
}

export interface JsonFixtures {
  parentOk: string;
  parentQueued: string;
  parentOtherTenant: string;
  goodDataUrl: string;
  imageServer: string;
}

export const KNOWN_FIELDS = [
  'prompt',
  'parent',
  'image_url',
  'webhook',
  'webhook_events',
  'metadata',
  'max_new_tokens',
  'temperature',
  'top_p',
  'top_k',
  'repetition_penalty',
  'seed',
] as const;
export type KnownField = (typeof KNOWN_FIELDS)[number];

const EVENTS = ['job.started', 'job.succeeded', 'job.failed', 'job.canceled'];
const json = (v: unknown): string => JSON.stringify(v) ?? 'null';
const ok = (v: unknown): FieldValue => ({ text: json(v), verdict: 'accept' });
const bad = (v: unknown): FieldValue => ({ text: json(v), verdict: 'reject' });
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => isNum(v) && Number.isInteger(v);
const within = (v: unknown, lo: number, hi: number, int = false): boolean =>
  (int ? isInt(v) : isNum(v)) && (v as number) >= lo && (v as number) <= hi;

/** Verdicts written from the documented field rules. */
const RULES: Record<Exclude<KnownField, 'parent' | 'image_url' | 'webhook'>, (v: unknown) => boolean> = {
  prompt: (v) => typeof v === 'string' && v.trim().length >= 1 && v.trim().length <= 4000,
  max_new_tokens: (v) => within(v, 1, 2048, true),
  temperature: (v) => within(v, 0, 2),
  top_p: (v) => within(v, 0, 1) && (v as number) > 0,
  top_k: (v) => within(v, 0, 1000, true),
  repetition_penalty: (v) => within(v, 0.5, 2),
  seed: (v) => within(v, 0, 2 ** 32 - 1, true),
  webhook_events: (v) => Array.isArray(v) && v.length >= 1 && v.every((e) => EVENTS.includes(e as string)),
  metadata: (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
    const entries = Object.entries(v);
    return (
      entries.every(([k, x]) => k.length <= 64 && typeof x === 'string' && x.length <= 1024) &&
      new TextEncoder().encode(json(v)).byteLength <= 4096
    );
  },
};

/**
 * A metadata key `__proto__` is refused (422): zod would strip it silently instead of echoing it back, which the edge
 * guards against (fuzz finding). Any other invalid shape is judged by the documented rules.
 */
const hasProtoKey = (v: unknown) => typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__');

const judged =
  (field: keyof typeof RULES) =>
  (v: unknown): FieldValue => ({
    text: json(v),
    verdict: RULES[field](v) && !(field === 'metadata' && hasProtoKey(v)) ? 'accept' : 'reject',
  });

const anyJson = fc.jsonValue({ maxDepth: 3 });
const numberish = fc.oneof(
  anyJson,
  fc.double(),
  fc.integer({ min: -5000, max: 5000 }),
  fc.constantFrom(
    0,
    0.5,
    1,
    2,
    2048,
    2049,
    1000,
    1001,
    0.4999,
    2 ** 32 - 1,
    2 ** 32,
    -0,
    1e-300,
    '1',
    '0.5',
    true,
    null,
  ),
);

/** Raw literals JSON.parse turns into ±Infinity or huge integers. */
const giantNumber = fc.constantFrom(
  '1e999',
  '-1e999',
  '9'.repeat(400),
  `0.${'0'.repeat(400)}1`,
  '123456789012345678901234567890',
);

function fieldValue(field: KnownField, fx: JsonFixtures): fc.Arbitrary<FieldValue> {
  switch (field) {
    case 'prompt':
      return fc.oneof(
        fc
          .constantFrom(
            'What is in this picture?',
            '  padded  ',
            '图片里有什么？',
            '\u0000',
            '\ud800 lone surrogate',
            'x'.repeat(4000),
          )
          .map(ok),
        fc.constantFrom('', '   ', '\n\t', 'x'.repeat(4001)).map(bad),
        fc.string({ maxLength: 50 }).map(judged('prompt')),
        anyJson.map(judged('prompt')),
        fc.integer({ min: 4001, max: 300_000 }).map((n) => bad('y'.repeat(n))),
      );
    case 'parent':
      return fc.oneof(
        fc.constant({ text: json(fx.parentOk), verdict: 'accept' as const, given: true }),
        fc
          .constantFrom(
            fx.parentQueued,
            fx.parentOtherTenant,
            'job_00000000000000000000000000',
            fx.parentOk.toUpperCase(),
            `${fx.parentOk} `,
          )
          .map((v) => ({ ...bad(v), given: true })),
        anyJson.map((v) => ({ ...bad(v), given: Boolean(v) })),
      );
    case 'image_url':
      return fc.oneof(
        fc
          .constantFrom(
            fx.goodDataUrl,
            `${fx.imageServer}/ok.jpg`,
            fx.goodDataUrl.replace('data:image/jpeg', 'DATA:text/plain'),
          )
          .map((v) => ({ ...ok(v), given: true })),
        fc
          .constantFrom(
            `${fx.imageServer}/missing`,
            `${fx.imageServer}/text`,
            'http://10.0.0.1/a.jpg',
            'http://169.254.169.254/latest/meta-data/',
            'http://[::1]/a.jpg',
            'ftp://127.0.0.1/a.jpg',
            'javascript:alert(1)',
            'data:image/jpeg,notbase64',
            'data:image/jpeg;base64,!!!!',
            'data:image/jpeg;base64,aGVsbG8=',
            `data:image/jpeg;base64,${'A'.repeat(120_000)}`,
            'not a url',
          )
          .map((v) => ({ ...bad(v), given: true })),
        anyJson.filter((v) => typeof v !== 'string').map((v) => ({ ...bad(v), given: Boolean(v) })),
      );
    case 'webhook':
      return fc.oneof(
        fc.constantFrom('http://127.0.0.1:9/hook', 'https://127.0.0.1/x?y=1').map(ok),
        fc
          .constantFrom(
            'http://10.0.0.1/hook',
            'http://[::1]/hook',
            'http://[::ffff:10.0.0.1]/hook',
            'http://169.254.169.254/',
            'ftp://127.0.0.1/',
            'not a url',
            `http://127.0.0.1/${'p'.repeat(2100)}`,
            '',
          )
          .map(bad),
        anyJson.filter((v) => typeof v !== 'string').map(bad),
      );
    case 'webhook_events':
      return fc.oneof(
        fc
          .array(fc.constantFrom(...EVENTS, 'job.queued', 'JOB.STARTED', '', 1, null), { maxLength: 5 })
          .map(judged('webhook_events')),
        anyJson.map(judged('webhook_events')),
      );
    case 'metadata':
      return fc.oneof(
        fc
          .dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.string({ maxLength: 30 }), anyJson), {
            maxKeys: 4,
            noNullPrototype: true,
          })
          .map(judged('metadata')),
        fc.constantFrom({ a: 'x'.repeat(1024) }, { k: 'v' }, {}).map(ok),
        fc
          .constantFrom(
            { a: 'x'.repeat(1025) },
            { ['k'.repeat(65)]: 'v' },
            Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'v'.repeat(900)])),
          )
          .map(bad),
        // Prototype-pollution shapes, as own keys (JSON.parse makes `__proto__` an own property too).
        fc
          .constantFrom(
            '{"constructor":{"prototype":{"polluted":"yes"}}}',
            '{"toString":{}}',
            '{"__proto__":{"polluted":"yes"}}',
            '{"__proto__":"x"}',
            '{"a":"b","__proto__":null}',
          )
          .map((text) => ({ text, verdict: 'reject' as const })),
        fc
          .constantFrom('{"constructor":"x","toString":"y","hasOwnProperty":"z"}')
          .map((text) => ({ text, verdict: 'accept' as const })),
        anyJson.map(judged('metadata')),
      );
    default:
      return fc.oneof(
        numberish.map(judged(field)),
        giantNumber.map((text) => ({
          text,
          verdict: RULES[field](JSON.parse(text)) ? ('accept' as const) : ('reject' as const),
        })),
      );
  }
}

const UNKNOWN_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  'temprature',
  'Prompt',
  'image',
  'tenant',
  'api_key_id',
];

export interface JsonCase {
  /** The request body bytes. */
  body: Uint8Array;
  verdict: Verdict;
  codes?: readonly (
    | 'malformed_request'
    | 'validation_failed'
    | 'payload_too_large'
    | 'parent_not_usable'
    | 'image_fetch_failed'
    | 'url_not_allowed'
    | 'unsupported_media_type'
    | 'image_corrupt'
  )[];
  why: string;
}

type Entry = { key: string; value: FieldValue; known: boolean };

const deepNesting = fc.integer({ min: 10, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));

function entryArb(fx: JsonFixtures): fc.Arbitrary<Entry> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...KNOWN_FIELDS)
        .chain((key) => fieldValue(key, fx).map((value) => ({ key, value, known: true }))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(fc.constantFrom(...UNKNOWN_KEYS), fc.string({ maxLength: 12 })), anyJson)
        .filter(([k]) => !(KNOWN_FIELDS as readonly string[]).includes(k))
        .map(([key, v]) => ({ key, value: bad(v), known: false })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('metadata', 'webhook_events', 'prompt', 'nested'), deepNesting)
        .map(([key, text]) => ({ key, value: { text, verdict: 'reject' as const }, known: key !== 'nested' })),
    },
  );
}

const encoder = new TextEncoder();

function serialise(entries: readonly Entry[]): string {
  return `{${entries.map((e) => `${JSON.stringify(e.key)}:${e.value.text}`).join(',')}}`;
}

/** Judges a set of fields (last one wins per key, as in JSON.parse). */
function judge(entries: readonly Entry[]): { verdict: Verdict; codes?: JsonCase['codes']; why: string } {
  const byKey = new Map<string, Entry>();
  for (const e of entries) byKey.set(e.key, e);
  const unknown = [...byKey.values()].filter((e) => !e.known);
  if (unknown.length)
    return { verdict: 'reject', codes: ['validation_failed'], why: `unknown field ${JSON.stringify(unknown[0]!.key)}` };
  if (!byKey.has('prompt')) return { verdict: 'reject', codes: ['validation_failed'], why: 'no prompt' };
  const verdicts = [...byKey.values()].map((e) => e.value.verdict);
  const sources = ['image_url', 'parent'].filter((k) => byKey.get(k)?.value.given);
  const why = [...byKey.values()].map((e) => `${e.key}=${e.value.text.slice(0, 40)}→${e.value.verdict}`).join(' ');
  if (verdicts.includes('reject') || sources.length !== 1) return { verdict: 'reject', why };
  return { verdict: verdicts.includes('either') ? 'either' : 'accept', why };
}

/** A valid request, then field overrides, then possibly a raw-level corruption of the bytes. */
export function jsonCaseArb(fx: JsonFixtures): fc.Arbitrary<JsonCase> {
  const source = fc.constantFrom<Entry>(
    { key: 'image_url', value: { text: json(fx.goodDataUrl), verdict: 'accept', given: true }, known: true },
    { key: 'parent', value: { text: json(fx.parentOk), verdict: 'accept', given: true }, known: true },
  );
  const structured = fc
    .tuple(source, fc.array(entryArb(fx), { maxLength: 3 }), fc.boolean())
    .map(([src, overrides, dropPrompt]) => {
      const entries: Entry[] = [
        ...(dropPrompt && overrides.length === 0 ? [] : [{ key: 'prompt', value: ok('Describe it.'), known: true }]),
        src,
        ...overrides,
      ];
      return { text: serialise(entries), ...judge(entries) };
    });
  const raw = fc.oneof(
    { weight: 12, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bad-utf8' as const),
        at: fc.nat(),
        bytes: fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf]),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('trailing' as const),
        junk: fc.constantFrom('x', ',', '}', '{}', '\u0000'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('not-object' as const),
        value: anyJson.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
      }),
    },
  );
  return fc.tuple(structured, raw).map(([s, r]) => {
    const c = judgeRaw(s, r);
    return { ...c, [fc.toStringMethod]: () => `json ${c.body.length} B: ${c.why} ⇒ ${c.verdict}` };
  });
}

type Structured = { text: string; verdict: Verdict; codes?: JsonCase['codes']; why: string };
type RawChange =
  | { kind: 'none' }
  | { kind: 'bad-utf8'; at: number; bytes: readonly number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'trailing'; junk: string }
  | { kind: 'not-object'; value: unknown };

function judgeRaw(s: Structured, r: RawChange): JsonCase {
  const bytes = encoder.encode(s.text);
  switch (r.kind) {
    case 'none':
      return { body: bytes, verdict: s.verdict, ...(s.codes ? { codes: s.codes } : {}), why: s.why };
    case 'bad-utf8': {
      // Inside a string literal, so the JSON stays well-formed and only the encoding is wrong.
      const quote = s.text.indexOf('"', 1 + (r.at % s.text.length));
      const at = quote > 0 ? encoder.encode(s.text.slice(0, quote + 1)).length : 2;
      const out = new Uint8Array([...bytes.subarray(0, at), ...r.bytes, ...bytes.subarray(at)]);
      return { body: out, verdict: 'reject', codes: ['malformed_request', 'payload_too_large'], why: 'invalid UTF-8' };
    }
    case 'truncate':
      return {
        body: bytes.subarray(0, r.at % bytes.length),
        verdict: 'reject',
        codes: ['malformed_request', 'payload_too_large'],
        why: 'truncated JSON',
      };
    case 'trailing':
      return {
        body: encoder.encode(s.text + r.junk),
        verdict: 'reject',
        codes: ['malformed_request', 'payload_too_large'],
        why: 'trailing junk',
      };
    case 'not-object':
      return {
        body: encoder.encode(json(r.value)),
        verdict: 'reject',
        codes: ['malformed_request'],
        why: 'top level is not an object',
      };
  }
}
