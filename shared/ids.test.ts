import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isJobId, JOB_ID_PATTERN, JOB_ID_SOURCE, newJobId } from './ids.ts';

test('every id newJobId makes is a job id, and the pattern admits exactly the characters it uses', () => {
  const used = new Set<string>();
  for (let i = 0; i < 2_000; i++) {
    const id = newJobId(i * 987_654_321);
    assert.ok(isJobId(id), id);
    for (const c of id.slice(4)) used.add(c);
  }
  for (const ms of [0, Date.UTC(2025, 0, 1), Date.UTC(9999, 11, 31)]) assert.ok(isJobId(newJobId(ms)));
  const admitted = [...'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_'].filter((c) =>
    JOB_ID_PATTERN.test(`job_${c.repeat(26)}`),
  );
  assert.deepEqual(admitted.sort(), [...used].sort());
  assert.equal(admitted.length, 32);
});

test('malformed ids are refused: other letters, case, length, prefix', () => {
  const good = newJobId();
  for (const bad of [
    `job_${'u'.repeat(26)}`,
    `${good.slice(0, -1)}i`,
    good.toUpperCase(),
    good.slice(0, -1),
    `${good}0`,
    `evt_${good.slice(4)}`,
    ` ${good}`,
  ])
    assert.equal(isJobId(bad), false, bad);
});

test('the unanchored form finds a job id inside an object key', () => {
  const id = newJobId();
  const m = new RegExp(`/(${JOB_ID_SOURCE})\\.json$`).exec(`jobs/acme/${id}.json`);
  assert.equal(m?.[1], id);
  assert.equal(JOB_ID_PATTERN.source, `^${JOB_ID_SOURCE}$`);
});
