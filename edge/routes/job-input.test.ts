import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { keys } from '../../shared/storage/keys.ts';
import { type EdgeHarness, KEYS, startEdgeHarness } from '../../test/edge/support/edge-harness.ts';
import { advance, jpeg, multipart } from '../../test/edge/support/fixtures.ts';
import { INPUT_CACHE_CONTROL } from './job-input.ts';

type Problem = { code: string; status: number; detail: string };

describe('GET /v1/jobs/{id}/input (what the model saw)', () => {
  let h: EdgeHarness;
  let jobId = '';
  before(async () => {
    h = await startEdgeHarness({ env: { LOG_LEVEL: 'silent' } });
    // 60×20: wide, so the 448×448 model input must be padded top and bottom.
    const created = await h.call('/v1/jobs', { method: 'POST', body: multipart(await jpeg(60, 20), { prompt: 'Hi' }) });
    assert.equal(created.status, 202, await created.clone().text());
    jobId = ((await created.json()) as { id: string }).id;
  });
  after(() => h.close());

  test('returns the stored 448×448 PNG with cache headers, and 304 for its ETag', async () => {
    const res = await h.call(`/v1/jobs/${jobId}/input`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('cache-control'), INPUT_CACHE_CONTROL);
    const body = new Uint8Array(await res.arrayBuffer());
    const stored = await h.aws.store.get(keys.modelInput('acme', jobId));
    assert.ok(stored);
    assert.deepEqual(body, stored.body);
    const meta = await sharp(body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 448, 448]);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await h.call(`/v1/jobs/${jobId}/input`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('etag'), etag);
  });

  test('a follow-up shows its conversation’s image', async () => {
    await advance(h.aws.store, 'acme', jobId, 'running');
    await advance(h.aws.store, 'acme', jobId, 'succeeded');
    const res = await h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ parent: jobId, prompt: 'And then?' }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    const [a, b] = await Promise.all([h.call(`/v1/jobs/${jobId}/input`), h.call(`/v1/jobs/${id}/input`)]);
    assert.deepEqual(new Uint8Array(await b.arrayBuffer()), new Uint8Array(await a.arrayBuffer()));
  });

  test('tenant rules as for the job: other tenant 404, no key 401, unknown id 404', async () => {
    const other = await h.call(`/v1/jobs/${jobId}/input`, { key: KEYS.globex });
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as Problem).code, 'not_found');
    assert.equal((await h.call(`/v1/jobs/${jobId}/input`, { key: KEYS.acme2 })).status, 200);
    assert.equal((await h.call(`/v1/jobs/${jobId}/input`, { key: null })).status, 401);
    assert.equal((await h.call('/v1/jobs/job_00000000000000000000000000/input')).status, 404);
    assert.equal((await h.call('/v1/jobs/nope/input')).status, 404);
    const post = await h.call(`/v1/jobs/${jobId}/input`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
  });

  test('an expired input answers a 404 problem that says so', async () => {
    const created = await h.call('/v1/jobs', { method: 'POST', body: multipart(await jpeg(16, 16), { prompt: 'Hi' }) });
    const { id } = (await created.json()) as { id: string };
    await h.aws.store.delete(keys.modelInput('acme', id));
    for (const headers of [{}, { 'if-none-match': '"x"' }] as Record<string, string>[]) {
      const res = await h.call(`/v1/jobs/${id}/input`, { headers });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const p = (await res.json()) as Problem;
      assert.equal(p.code, 'not_found');
      assert.match(p.detail, /expire/);
    }
  });
});
