/**
 * Standard Webhooks signing (`shared/webhooks/signing.ts`) against the reference `standardwebhooks` library: each
 * accepts the other's signatures inside the tolerance window, any single mutation of body, id, timestamp, signature or
 * secret is refused, stale or future timestamps are refused, and verification throws nothing but
 * `WebhookVerificationError`.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import {
  DEFAULT_TOLERANCE_SECONDS,
  encodeSecret,
  signedHeaders,
  verify,
  WebhookVerificationError,
} from '../../../../shared/webhooks/signing.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

/** Seconds kept clear of the tolerance edge, so a slow machine's clock moving during a check cannot flip it. */
const MARGIN = 20;

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 64 }).map((b) => encodeSecret(b));
const idArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' }),
  fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }),
  fc.constantFrom('msg_job_01jd0000000000000000000000_succeeded', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W'),
);
const bodyArb = fc.oneof(fc.json(), fc.string({ unit: 'binary', maxLength: 200 }), fc.constant(''));
const inWindow = fc.integer({ min: -(DEFAULT_TOLERANCE_SECONDS - MARGIN), max: DEFAULT_TOLERANCE_SECONDS - MARGIN });
const outsideWindow = fc.oneof(
  fc.integer({ min: DEFAULT_TOLERANCE_SECONDS + MARGIN, max: 10 ** 7 }),
  fc.integer({ min: -(10 ** 7), max: -(DEFAULT_TOLERANCE_SECONDS + MARGIN) }),
);

/** A delivery signed by one side at now + offset seconds. */
const deliveryArb = fc.record({
  secret: secretArb,
  id: idArb,
  body: bodyArb,
  offset: inWindow,
  signer: fc.constantFrom('ours', 'theirs'),
});
type Delivery = {
  secret: string;
  id: string;
  body: string;
  offset: number;
  signer: 'ours' | 'theirs';
};

type Headers3 = { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };

async function signDelivery(d: Delivery): Promise<Headers3> {
  const at = new Date(Date.now() + d.offset * 1000);
  if (d.signer === 'ours') return signedHeaders(d.secret, d.id, d.body, at);
  const ts = Math.floor(at.getTime() / 1000);
  const sig = new Webhook(d.secret).sign(d.id, new Date(ts * 1000), d.body);
  return { 'webhook-id': d.id, 'webhook-timestamp': String(ts), 'webhook-signature': sig };
}

/** Both verifiers' verdicts: null when it accepted, else the error. */
async function verdicts(secret: string, body: string, headers: Headers3): Promise<{ ours: unknown; theirs: unknown }> {
  const ours = await verify(secret, body, headers).then(
    () => null,
    (e: unknown) => e ?? 'undefined thrown',
  );
  let theirs: unknown = null;
  try {
    new Webhook(secret).verify(body, headers, { jsonParse: false });
  } catch (e) {
    theirs = e ?? 'undefined thrown';
  }
  return { ours, theirs };
}

const otherCodePoint = fc.integer({ min: 0x20, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff);

/** One mutation of a signed delivery; `apply` returns the changed body, headers and secret. */
const mutationArb = fc.oneof(
  fc.record({ kind: fc.constant('body-replace' as const), at: fc.nat(), cp: otherCodePoint }),
  fc.record({ kind: fc.constant('body-insert' as const), at: fc.nat(), cp: otherCodePoint }),
  fc.record({ kind: fc.constant('body-delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('id-append' as const), text: fc.string({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('id-replace' as const), id: idArb }),
  fc.record({
    kind: fc.constant('ts-shift' as const),
    delta: fc.integer({ min: -60, max: 60 }).filter((n) => n !== 0),
  }),
  fc.record({
    kind: fc.constant('ts-text' as const),
    form: fc.constantFrom('leading-zero', 'plus', 'decimal', 'exponent', 'hex', 'space', 'suffix'),
  }),
  fc.record({ kind: fc.constant('sig-char' as const), at: fc.nat(), char: fc.constantFrom(...'AZaz09+/=') }),
  fc.record({
    kind: fc.constant('sig-form' as const),
    form: fc.constantFrom('no-padding', 'base64url', 'v1a', 'V1', 'v2', 'no-version', 'truncated', 'doubled', 'hex'),
  }),
  fc.record({ kind: fc.constant('secret' as const), secret: secretArb }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function spliceCodePoints(s: string, at: number, remove: number, insert: string): string {
  const cps = [...s];
  const i = cps.length ? at % (cps.length + (remove ? 0 : 1)) : 0;
  cps.splice(i, remove, ...(insert ? [insert] : []));
  return cps.join('');
}

function mutate(
  m: Mutation,
  secret: string,
  body: string,
  h: Headers3,
): { secret: string; body: string; headers: Headers3 } | null {
  const headers = { ...h };
  const ts = h['webhook-timestamp'];
  const sig = h['webhook-signature'].slice(3);
  switch (m.kind) {
    case 'body-replace': {
      if (!body) return null;
      const next = spliceCodePoints(body, m.at, 1, String.fromCodePoint(m.cp));
      return next === body ? null : { secret, body: next, headers };
    }
    case 'body-insert':
      return { secret, body: spliceCodePoints(body, m.at, 0, String.fromCodePoint(m.cp)), headers };
    case 'body-delete':
      return body ? { secret, body: spliceCodePoints(body, m.at, 1, ''), headers } : null;
    case 'id-append':
      headers['webhook-id'] += m.text;
      return { secret, body, headers };
    case 'id-replace':
      if (m.id === h['webhook-id']) return null;
      headers['webhook-id'] = m.id;
      return { secret, body, headers };
    case 'ts-shift':
      headers['webhook-timestamp'] = String(Number(ts) + m.delta);
      return { secret, body, headers };
    case 'ts-text': {
      const forms = {
        'leading-zero': `0${ts}`,
        plus: `+${ts}`,
        decimal: `${ts}.0`,
        exponent: `${Number(ts) / 10}e1`,
        hex: `0x${Number(ts).toString(16)}`,
        space: ` ${ts}`,
        suffix: `${ts}s`,
      };
      headers['webhook-timestamp'] = forms[m.form];
      return { secret, body, headers };
    }
    case 'sig-char': {
      const i = m.at % sig.length;
      if (sig[i] === m.char) return null;
      headers['webhook-signature'] = `v1,${sig.slice(0, i)}${m.char}${sig.slice(i + 1)}`;
      return { secret, body, headers };
    }
    case 'sig-form': {
      const forms = {
        'no-padding': `v1,${sig.replace(/=+$/, '')}`,
        base64url: `v1,${sig.replace(/\+/g, '-').replace(/\//g, '_')}`,
        v1a: `v1a,${sig}`,
        V1: `V1,${sig}`,
        v2: `v2,${sig}`,
        'no-version': sig,
        truncated: `v1,${sig.slice(0, -4)}`,
        doubled: `v1,${sig}${sig}`,
        hex: `v1,${Buffer.from(sig, 'base64').toString('hex')}`,
      };
      const next = forms[m.form];
      if (next === h['webhook-signature']) return null;
      headers['webhook-signature'] = next;
      return { secret, body, headers };
    }
    case 'secret':
      return m.secret === secret ? null : { secret: m.secret, body, headers };
  }
}

function assertRefused(e: unknown, who: string): void {
  assert.ok(e !== null, `${who} accepted a tampered or stale delivery`);
}

function assertOnlyVerificationErrors(e: unknown): void {
  if (e === null) return;
  assert.ok(e instanceof WebhookVerificationError, `verify threw ${String(e)}, not a WebhookVerificationError`);
}

export const webhookSigningTarget: FuzzTarget = {
  name: 'webhook-signature',
  ciRuns: 200,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const property = fc.asyncProperty(
      fc.oneof(
        fc.record({ kind: fc.constant('interop' as const), d: deliveryArb }),
        fc.record({
          kind: fc.constant('rotation' as const),
          d: deliveryArb,
          others: fc.array(secretArb, { minLength: 1, maxLength: 3 }),
        }),
        fc.record({ kind: fc.constant('mutation' as const), d: deliveryArb, m: mutationArb }),
        fc.record({ kind: fc.constant('stale' as const), d: deliveryArb, offset: outsideWindow }),
        fc.record({
          kind: fc.constant('garbage' as const),
          secret: fc.oneof(secretArb, fc.string()),
          body: fc.string(),
          headers: fc.record({
            'webhook-id': fc.string(),
            'webhook-timestamp': fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String)),
            'webhook-signature': fc.oneof(
              fc.string(),
              fc.string().map((s) => `v1,${s}`),
            ),
          }),
        }),
      ),
      tally.track(async (input) => {
        tally.tried++;
        tally.note(input.kind);
        if (input.kind === 'garbage') {
          const e = await verify(input.secret, input.body, input.headers).then(
            () => null,
            (err: unknown) => err,
          );
          assertOnlyVerificationErrors(e);
          return;
        }
        const { d } = input;
        if (input.kind === 'interop') {
          const h = await signDelivery(d);
          const v = await verdicts(d.secret, d.body, h);
          assert.equal(v.ours, null, `ours refused a ${d.signer} signature: ${String(v.ours)}`);
          assert.equal(v.theirs, null, `standardwebhooks refused a ${d.signer} signature: ${String(v.theirs)}`);
          return;
        }
        if (input.kind === 'rotation') {
          // Several secrets sign during a rotation; a receiver holding any one of them accepts.
          const all = [...input.others, d.secret];
          const h = await signedHeaders(all, d.id, d.body, new Date(Date.now() + d.offset * 1000));
          for (const s of all) {
            const v = await verdicts(s, d.body, h);
            assert.equal(v.ours, null, 'ours refused a rotated signature');
            assert.equal(v.theirs, null, 'standardwebhooks refused a rotated signature');
          }
          const e = await verify(input.others, d.body, h).then(
            () => null,
            (err: unknown) => err,
          );
          assert.equal(e, null, 'ours refused with a list of secrets');
          return;
        }
        if (input.kind === 'stale') {
          const h = await signDelivery({ ...d, offset: input.offset });
          const v = await verdicts(d.secret, d.body, h);
          assertRefused(v.ours, 'ours');
          assertRefused(v.theirs, 'standardwebhooks');
          assertOnlyVerificationErrors(v.ours);
          return;
        }
        const h = await signDelivery(d);
        const changed = mutate(input.m, d.secret, d.body, h);
        fc.pre(changed !== null);
        tally.note(`mutation:${input.m.kind}`);
        const e = await verify(changed.secret, changed.body, changed.headers).then(
          () => null,
          (err: unknown) => err,
        );
        assertRefused(e, `ours (${input.m.kind})`);
        assertOnlyVerificationErrors(e);
      }),
    );
    return check(property, params);
  },
};
