import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EdgeHarness, startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { PUBLIC_ROUTES, principals, runAuthMatrix } from './auth-matrix.ts';

describe('authorization matrix over every documented operation', () => {
  let h: EdgeHarness;
  before(async () => {
    h = await startEdgeHarness();
  });
  after(() => h.close());

  test('401 for every bad credential, 404 for another tenant (indistinguishable from missing), tenant keys share', async () => {
    const report = await runAuthMatrix(h);
    assert.deepEqual(report.failures, []);
    // The matrix really covered the API: all /v1 operations of the OpenAPI document, every principal.
    assert.ok(report.operations.length >= 8, report.operations.join(', '));
    const perOp = principals().length;
    for (const op of report.operations)
      assert.equal(report.rows.filter((r) => r.op === op).length, perOp, `${op} was not tried with every principal`);
    assert.equal(report.rows.filter((r) => PUBLIC_ROUTES.some((p) => p === r.op)).length, PUBLIC_ROUTES.length * 2);
  });
});
