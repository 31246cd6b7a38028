import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebhookAttempt } from '../../shared/index.ts';
import type { QueuedDelivery } from './delivery-message.ts';
import { isSuperseded } from './delivery-worker.ts';

const delivery = (attempt: number, recovery?: boolean): QueuedDelivery => ({
  v: 1,
  webhook_id: 'msg_a_succeeded',
  tenant: 't',
  job_id: 'job_01m8e5zh2d1be6japznkx8y3hb',
  api_key_id: 'k',
  event: 'job.succeeded',
  url: 'https://example.com/hook',
  payload: '{}',
  attempt,
  first_attempt_at: '2026-11-27T10:00:00.000Z',
  ...(recovery ? { recovery } : {}),
});
const attempt = (n: number, outcome: WebhookAttempt['outcome'], id = 'msg_a_succeeded'): WebhookAttempt => ({
  webhook_id: id,
  event: 'job.succeeded',
  attempt: n,
  at: '2026-11-27T10:00:00.000Z',
  latency_ms: 3,
  outcome,
});

describe('webhook duplicate detection', () => {
  test('a fresh delivery or a redelivered retrying attempt is sent', () => {
    assert.equal(isSuperseded(delivery(1), []), false);
    assert.equal(isSuperseded(delivery(2), [attempt(1, 'retrying')]), false);
    assert.equal(isSuperseded(delivery(1), [attempt(1, 'delivered', 'msg_other')]), false);
  });
  test('settled webhooks, overtaken attempts and recovery copies of attempted webhooks are dropped', () => {
    assert.equal(isSuperseded(delivery(1), [attempt(1, 'delivered')]), true);
    assert.equal(isSuperseded(delivery(3), [attempt(1, 'retrying'), attempt(2, 'stopped')]), true);
    assert.equal(isSuperseded(delivery(1), [attempt(1, 'retrying'), attempt(2, 'retrying')]), true);
    assert.equal(isSuperseded(delivery(1, true), [attempt(1, 'retrying')]), true);
    assert.equal(isSuperseded(delivery(1, true), []), false);
  });
});
