/**
 * Every route that takes a job id answers a malformed one as docs/api.md says: 404 `not_found` in the path (as if
 * the job did not exist), 422 `validation_failed` naming the field in a query or body. "Malformed" includes ids in
 * the wrong alphabet: job ids are Crockford base32, which has no i, l, o or u.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newJobId } from '../../shared/ids.ts';
import { type EdgeHarness, startEdgeHarness } from '../../test/edge/support/edge-harness.ts';

let h: EdgeHarness;
before(async () => {
  h = await startEdgeHarness({ env: { LOG_LEVEL: 'silent' } });
});
after(() => h.close());

const good = newJobId();
const MALFORMED = [
  `job_${'u'.repeat(26)}`, // letters outside the alphabet, right length
  `${good.slice(0, 14)}${'o'.repeat(14)}`,
  good.toUpperCase(),
  good.slice(0, -1),
  'job_',
  'not-a-job',
];

async function problem(res: Response): Promise<{ code: string; errors?: { path: string }[] }> {
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  return (await res.json()) as { code: string; errors?: { path: string }[] };
}

test('a malformed id in the path: 404 not_found on every job route', async () => {
  for (const id of MALFORMED)
    for (const [method, path] of [
      ['GET', `/v1/jobs/${id}`],
      ['POST', `/v1/jobs/${id}/cancel`],
      ['GET', `/v1/jobs/${id}/input`],
    ] as const) {
      const res = await h.call(path, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal((await problem(res)).code, 'not_found');
    }
});

test('a malformed `after` cursor: 422 validation_failed on query.after', async () => {
  for (const id of MALFORMED) {
    const res = await h.call(`/v1/jobs?after=${encodeURIComponent(id)}`);
    assert.equal(res.status, 422, id);
    const p = await problem(res);
    assert.equal(p.code, 'validation_failed');
    assert.equal(p.errors?.[0]?.path, 'query.after');
  }
  const ok = await h.call(`/v1/jobs?after=${good}`);
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
});

test('a malformed `parent`: 422 validation_failed on parent', async () => {
  for (const id of MALFORMED) {
    const res = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'And?', parent: id }),
    });
    assert.equal(res.status, 422, id);
    const p = await problem(res);
    assert.equal(p.code, 'validation_failed');
    assert.equal(p.errors?.[0]?.path, 'parent');
  }
});
