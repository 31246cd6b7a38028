import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJobId } from '../ids.ts';
import { keys, utcDay } from './keys.ts';

test('kinds are apart and tenant-scoped, so lifecycle and IAM can target them', () => {
  const id = newJobId();
  assert.ok(keys.modelInput('acme', id).startsWith('inputs/acme/'));
  assert.ok(keys.job('acme', id).startsWith('jobs/acme/'));
  assert.ok(keys.usage('acme', '2026-11-27', id).startsWith('usage/acme/2026-11-27/'));
  assert.ok(keys.idempotency('acme', 'abc').startsWith('idempotency/acme/'));
  assert.ok(keys.event('acme', 'evt_1').startsWith('events/acme/'));
});

test('unsafe segments are refused', () => {
  assert.throws(() => keys.job('../etc', 'job_x'));
  assert.throws(() => keys.job('acme', 'a/b'));
  assert.throws(() => keys.job('', 'job_x'));
});

test('job ids sort by creation time', () => {
  const a = newJobId(1_700_000_000_000);
  const b = newJobId(1_700_000_000_001);
  const c = newJobId(1_800_000_000_000);
  assert.deepEqual([c, a, b].sort(), [a, b, c]);
  assert.equal(utcDay('2026-11-27T23:59:59Z'), '2026-11-27');
});
