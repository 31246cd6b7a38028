/**
 * Fixed reproductions of what the fuzz suite found, so they stay fixed whatever the seed samples:
 * - `verify` read `webhook-timestamp` with `Number()`, so one signature also verified under " 17…", "017…", "+17…",
 *   "17….0", "1.7e9" or "0x…"; only the canonical decimal may verify now (shared/webhooks/signing.ts);
 * - a metadata key `__proto__` was stripped silently by zod (202, key lost instead of echoed); it is a 422 now
 *   (edge/jobs/parse-create.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeSecret, signedHeaders, verify, WebhookVerificationError } from '../../../shared/webhooks/signing.ts';
import { type EdgeHarness, startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from '../../edge/support/fixtures.ts';

test('webhook-timestamp must be the canonical decimal that was signed', async () => {
  const secret = encodeSecret(new Uint8Array(32).fill(7));
  const now = new Date();
  const h = await signedHeaders(secret, 'msg_1', '{"a":1}', now);
  await verify(secret, '{"a":1}', h, { now });
  const ts = h['webhook-timestamp'];
  const variants = [`0${ts}`, `+${ts}`, `${ts}.0`, `${Number(ts) / 10}e1`, `0x${Number(ts).toString(16)}`, `${ts}s`];
  for (const v of variants)
    await assert.rejects(
      verify(secret, '{"a":1}', { ...h, 'webhook-timestamp': v }, { now }),
      WebhookVerificationError,
      `accepted timestamp ${JSON.stringify(v)}`,
    );
});

let h: EdgeHarness;
before(async () => {
  h = await startEdgeHarness();
});
after(() => h.close());

test('a metadata key __proto__ is refused, not silently dropped (JSON and multipart)', async () => {
  const image = await jpeg(16, 16);
  const before = (await h.deps.store.list('')).items.length;
  for (const metadata of ['{"__proto__":"x","a":"b"}', '{"__proto__":{"polluted":"yes"}}']) {
    const json = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"prompt":"Hi","image_url":${JSON.stringify(dataUrl(image))},"metadata":${metadata}}`,
    });
    const form = await h.call('/v1/jobs', { method: 'POST', body: multipart(image, { prompt: 'Hi', metadata }) });
    for (const res of [json, form]) {
      assert.equal(res.status, 422, metadata);
      const p = (await res.json()) as { code: string; errors: { path: string }[] };
      assert.equal(p.code, 'validation_failed');
      assert.equal(p.errors[0]?.path, 'metadata');
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((await h.deps.store.list('')).items.length, before, 'a refused request left objects');
});
