import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProblemError } from '../../shared/errors/problem.ts';
import { IntakeGate } from './intake-gate.ts';

test('IntakeGate: refuses past the limit with 429 instance_busy + Retry-After, frees the slot on success and failure', async () => {
  const gate = new IntakeGate(2);
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const a = gate.run(() => held.then(() => 'a'));
  const b = gate.run(() => Promise.reject(new Error('boom')));
  await assert.rejects(b, /boom/);
  const c = gate.run(() => held.then(() => 'c'));
  assert.equal(gate.inFlight, 2);
  await assert.rejects(
    gate.run(async () => 'd'),
    (err: unknown) => {
      assert.ok(err instanceof ProblemError);
      assert.equal(err.problem.code, 'instance_busy');
      assert.equal(err.status, 429);
      assert.equal(err.headers['Retry-After'], '1');
      return true;
    },
  );
  release();
  assert.deepEqual(await Promise.all([a, c]), ['a', 'c']);
  assert.equal(gate.inFlight, 0);
  assert.equal(await new IntakeGate(0).run(async () => 'unlimited'), 'unlimited');
});
