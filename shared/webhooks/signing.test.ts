import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { deriveWebhookSecret, generateSecret, signedHeaders, verify, WebhookVerificationError } from './signing.ts';

const body = JSON.stringify({
  type: 'job.succeeded',
  timestamp: '2026-11-27T10:00:00.000Z',
  data: { id: 'job_x', text: '猫 🐈' },
});

describe('Standard Webhooks signing', () => {
  test('our signatures verify with the standardwebhooks library', async () => {
    const secret = generateSecret();
    const headers = await signedHeaders(secret, 'msg_1', body);
    const payload = new Webhook(secret).verify(body, { ...headers });
    assert.deepEqual(payload, JSON.parse(body));
  });

  test('the library’s signatures verify with ours', async () => {
    const secret = generateSecret();
    const wh = new Webhook(secret);
    const now = new Date();
    const signature = wh.sign('msg_2', now, body);
    await verify(secret, body, {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signature,
    });
  });

  test('tampered body, wrong secret, stale and future timestamps are rejected (by both implementations)', async () => {
    const secret = generateSecret();
    const headers = await signedHeaders(secret, 'msg_3', body);
    await assert.rejects(verify(secret, `${body} `, headers), WebhookVerificationError);
    assert.throws(() => new Webhook(secret).verify(`${body} `, { ...headers }));
    const other = generateSecret();
    await assert.rejects(verify(other, body, headers), WebhookVerificationError);
    assert.throws(() => new Webhook(other).verify(body, { ...headers }));
    const stale = await signedHeaders(secret, 'msg_4', body, new Date(Date.now() - 10 * 60_000));
    await assert.rejects(verify(secret, body, stale), /too old/);
    assert.throws(() => new Webhook(secret).verify(body, { ...stale }));
    const future = await signedHeaders(secret, 'msg_5', body, new Date(Date.now() + 10 * 60_000));
    await assert.rejects(verify(secret, body, future), /too new/);
    await assert.rejects(verify(secret, body, { 'webhook-id': 'x' }), /missing/);
  });

  test('rotation: a delivery signed with old and new secrets verifies with either', async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const headers = await signedHeaders([oldSecret, newSecret], 'msg_6', body);
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    await verify(oldSecret, body, headers);
    await verify(newSecret, body, headers);
    new Webhook(newSecret).verify(body, { ...headers });
    await verify([generateSecret(), newSecret], body, headers);
  });

  test('per-key secrets are derived deterministically and differ per key and master', async () => {
    const a1 = await deriveWebhookSecret('master-1', 'key_a');
    assert.equal(a1, await deriveWebhookSecret('master-1', 'key_a'));
    assert.notEqual(a1, await deriveWebhookSecret('master-1', 'key_b'));
    assert.notEqual(a1, await deriveWebhookSecret('master-2', 'key_a'));
    assert.match(a1, /^whsec_[A-Za-z0-9+/]+=*$/);
    new Webhook(a1).verify(body, { ...(await signedHeaders(a1, 'm', body)) });
  });
});
