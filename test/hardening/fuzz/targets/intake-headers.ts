/**
 * Request headers of `POST /v1/jobs` through the real edge: Authorization variants (schemes, spacing, other keys and
 * tenants, junk), Content-Type variants with odd parameters, Idempotency-Key (long, quoted, empty, non-ASCII, reused
 * with another request, replayed with the same one, reused under another API key), Prefer, Accept, request-id and
 * arbitrary extra headers. Auth is judged first, then the Idempotency-Key, then the body's Content-Type.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ProblemCode } from '../../../../shared/errors/problem.ts';
import { KEYS } from '../../../edge/support/edge-harness.ts';
import { dataUrl } from '../../../edge/support/fixtures.ts';
import {
  discard,
  type Expectation,
  expectOutcome,
  type IntakeStack,
  startIntakeStack,
  type Verdict,
} from '../intake-stack.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
/** UTF-8 bytes as a byte string, as a raw header value reaches a server. */
const asWire = (s: string) => String.fromCharCode(...new TextEncoder().encode(s));

type Auth = { header?: string; tenant: string | null; label: string };
const authArb: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ header: `Bearer ${KEYS.acme}`, tenant: 'acme', label: 'acme' }) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<Auth>(
      { header: `Bearer ${KEYS.acme2}`, tenant: 'acme', label: 'acme2' },
      { header: `Bearer ${KEYS.globex}`, tenant: 'globex', label: 'globex' },
      { header: `bearer ${KEYS.acme}`, tenant: 'acme', label: 'lowercase scheme' },
      { header: `BEARER\t${KEYS.acme}`, tenant: 'acme', label: 'tab' },
      { header: `Bearer   ${KEYS.acme}`, tenant: 'acme', label: 'spaces' },
      { tenant: null, label: 'none' },
      { header: '', tenant: null, label: 'empty' },
      { header: 'Bearer', tenant: null, label: 'scheme only' },
      { header: `Bearer ${KEYS.acme}x`, tenant: null, label: 'key+x' },
      { header: `Bearer ${KEYS.acme.slice(0, -1)}`, tenant: null, label: 'truncated key' },
      { header: `Basic ${btoa(`u:${KEYS.acme}`)}`, tenant: null, label: 'basic' },
      { header: `Bearer ${KEYS.acme}, Bearer ${KEYS.globex}`, tenant: null, label: 'two keys' },
      { header: `Bearer "${KEYS.acme}"`, tenant: null, label: 'quoted key' },
      { header: `Bearer ${KEYS.acme}\u00e9`, tenant: null, label: 'latin-1 tail' },
      { header: asWire(`Bearer ${KEYS.acme}密`), tenant: null, label: 'utf-8 tail' },
      { header: `Bearer ${'a'.repeat(10_000)}`, tenant: null, label: 'huge' },
      { header: `Token ${KEYS.acme}`, tenant: null, label: 'other scheme' },
      { header: KEYS.acme, tenant: null, label: 'no scheme' },
    ),
  },
  { weight: 1, arbitrary: printable.map((s) => ({ header: s, tenant: null, label: 'random' })) },
);

type Body = { kind: 'multipart' | 'json'; contentType?: string; verdict: Verdict };
const B = 'fuzzHeadersBoundary42';
const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  fc
    .constantFrom<[string | undefined, Verdict]>(
      [`multipart/form-data; boundary=${B}`, 'accept'],
      [`Multipart/Form-Data; boundary=${B}`, 'accept'],
      [`multipart/form-data; boundary="${B}"`, 'accept'],
      [`multipart/form-data; charset=utf-8; boundary=${B}`, 'accept'],
      [`multipart/form-data;boundary=${B}`, 'accept'],
      [`multipart/form-data; boundary=${B}; foo="bar; baz"`, 'accept'],
      ['multipart/form-data', 'reject'],
      ['multipart/form-data; boundary=wrongBoundary', 'reject'],
      [`multipart/mixed; boundary=${B}`, 'reject'],
      [`multipart/form-databoundary=${B}`, 'reject'],
      ['application/x-www-form-urlencoded', 'reject'],
      ['text/plain', 'reject'],
      ['', 'reject'],
      [undefined, 'reject'],
      [`multipart/form-data; boundary=${B}; boundary=other`, 'either'],
      [`multipart/form-data; BOUNDARY=${B}`, 'either'],
      [`multipart/form-data; boundary=${B}\u00e9`, 'reject'],
    )
    .map(([contentType, verdict]) => ({
      kind: 'multipart' as const,
      ...(contentType === undefined ? {} : { contentType }),
      verdict,
    })),
  fc
    .constantFrom<[string, Verdict]>(
      ['application/json', 'accept'],
      ['application/json; charset=utf-8', 'accept'],
      ['application/vnd.api+json', 'accept'],
      ['Application/JSON', 'accept'],
      ['text/json', 'reject'],
      ['application/jsonp', 'reject'],
      ['application/json-seq', 'either'],
      [`multipart/form-data; boundary=${B}`, 'reject'],
    )
    .map(([contentType, verdict]) => ({ kind: 'json' as const, contentType, verdict })),
);

type IdemKey =
  | { kind: 'none' }
  | { kind: 'valid'; make: (n: number) => string }
  | { kind: 'invalid'; value: string; label: string }
  | { kind: 'replay-same' | 'reuse-different' | 'other-api-key' };
const idemArb: fc.Arbitrary<IdemKey> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      printable.map((s) => ({ kind: 'valid' as const, make: (n: number) => `k${n}-${s}`.trim().slice(0, 255) })),
      fc.constant({ kind: 'valid' as const, make: (n: number) => `"order-${n}"` }),
      fc.constant({ kind: 'valid' as const, make: (n: number) => `${n}-`.padEnd(255, 'k') }),
      fc.constant({ kind: 'valid' as const, make: (n: number) => `"q\\"${n}\\\\"` }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom<IdemKey>(
      { kind: 'invalid', value: '', label: 'empty' },
      { kind: 'invalid', value: '   ', label: 'blank' },
      { kind: 'invalid', value: '""', label: 'empty sf-string' },
      { kind: 'invalid', value: 'k'.repeat(256), label: '256 chars' },
      { kind: 'invalid', value: 'k'.repeat(5000), label: '5000 chars' },
      { kind: 'invalid', value: 'a\tb', label: 'tab' },
      { kind: 'invalid', value: asWire('订单-1'), label: 'utf-8' },
      { kind: 'invalid', value: 'caf\u00e9', label: 'latin-1' },
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom<IdemKey>(
      { kind: 'replay-same' },
      { kind: 'reuse-different' },
      { kind: 'other-api-key' },
    ),
  },
);

const extrasArb = fc.record(
  {
    prefer: fc.oneof(
      fc.constantFrom('wait=5', 'respond-async', 'return=minimal', 'wait=abc', 'wait=999999999999'),
      printable,
    ),
    accept: fc.oneof(
      fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/problem+json', 'image/png'),
      printable,
    ),
    'request-id': fc.oneof(
      printable,
      fc.string({ unit: fc.constantFrom(...'abcXYZ019._:-'), minLength: 1, maxLength: 140 }),
    ),
    'x-forwarded-for': fc.constantFrom('10.0.0.1', '::1', '127.0.0.1, 169.254.169.254'),
    'x-tenant': fc.constantFrom('globex', '../acme'),
  },
  { requiredKeys: [] },
);

let counter = 0;

export const intakeHeadersTarget: FuzzTarget = {
  name: 'intake-headers',
  ciRuns: 40,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const stack = await ctx.shared<IntakeStack>('intake', startIntakeStack);
    const enc = new TextEncoder();
    const multipartBody = (prompt: string) =>
      enc.encode(
        `--${B}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${prompt}\r\n` +
          `--${B}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      );
    const image = stack.image;
    const bodyFor = (kind: Body['kind'], prompt: string): Uint8Array => {
      if (kind === 'json') return enc.encode(JSON.stringify({ prompt, image_url: dataUrl(image) }));
      const head = multipartBody(prompt);
      const tail = enc.encode(`\r\n--${B}--\r\n`);
      const out = new Uint8Array(head.length + image.length + tail.length);
      out.set(head);
      out.set(image, head.length);
      out.set(tail, head.length + image.length);
      return out;
    };

    const property = fc.asyncProperty(
      authArb,
      bodyArb,
      idemArb,
      extrasArb,
      tally.track(async (auth, body, idem, extras) => {
        tally.tried++;
        const n = ++counter;
        const headers = new Headers();
        for (const [k, v] of Object.entries(extras)) headers.set(k, v);
        if (auth.header !== undefined) headers.set('authorization', auth.header);
        if (body.contentType !== undefined) headers.set('content-type', body.contentType);
        let key: string | null = null;
        if (idem.kind === 'valid') key = idem.make(n);
        else if (idem.kind === 'invalid') key = idem.value;
        else if (idem.kind !== 'none') key = `twice-${n}`;
        if (key !== null) headers.set('idempotency-key', key);

        const send =
          (prompt: string, h: Headers = headers) =>
          () =>
            stack.h.call('/v1/jobs', {
              method: 'POST',
              key: null,
              headers: h,
              body: bodyFor(body.kind, prompt) as Uint8Array<ArrayBuffer>,
            });
        const tenant = auth.tenant ?? 'acme';
        let expectation: Expectation;
        if (auth.tenant === null)
          expectation = { verdict: 'reject', codes: ['unauthorized'], why: `auth ${auth.label}` };
        else if (idem.kind === 'invalid')
          expectation = { verdict: 'reject', codes: ['malformed_request'], why: `Idempotency-Key ${idem.label}` };
        else
          expectation = {
            verdict: body.verdict,
            ...(body.verdict === 'reject' ? { codes: ['malformed_request'] as ProblemCode[] } : {}),
            tenant,
            why: `${body.kind} Content-Type ${JSON.stringify(body.contentType)}`,
          };

        const first = await expectOutcome(stack, tally, expectation, send(`Headers ${n}`), { keep: true });
        if (first.status === 401)
          assert.match(String(first.body && (first.body as { detail?: string }).detail), /Bearer/);
        if (first.status !== 202 || !['replay-same', 'reuse-different', 'other-api-key'].includes(idem.kind)) {
          await discard(stack, first.created);
          return;
        }
        tally.note(`idempotency ${idem.kind}`);
        if (idem.kind === 'replay-same') {
          const again = await expectOutcome(
            stack,
            tally,
            { verdict: 'accept', tenant, why: 'same key, same request' },
            send(`Headers ${n}`),
            { keep: true },
          );
          assert.equal(again.jobId, first.jobId, 'a replay must answer the same job');
        } else if (idem.kind === 'reuse-different') {
          await expectOutcome(
            stack,
            tally,
            { verdict: 'reject', codes: ['idempotency_key_reused'], tenant, why: 'same key, other request' },
            send(`Other ${n}`),
          );
        } else {
          // Keys are scoped per API key: the same Idempotency-Key under another key of the tenant is a new request.
          const other = new Headers(headers);
          other.set('authorization', `Bearer ${auth.label === 'acme2' ? KEYS.acme : KEYS.acme2}`);
          const second = await expectOutcome(
            stack,
            tally,
            { verdict: 'accept', tenant: 'acme', why: 'same key, other API key' },
            send(`Headers ${n}`, other),
            { keep: true },
          );
          if (auth.tenant === 'acme') assert.notEqual(second.jobId, first.jobId, 'another API key must not replay');
          await discard(stack, second.created);
        }
        await discard(stack, first.created);
      }),
    );
    return check(property, params);
  },
};
