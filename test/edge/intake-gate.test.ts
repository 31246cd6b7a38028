import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EdgeHarness, startEdgeHarness } from './support/edge-harness.ts';
import { jpeg, multipart } from './support/fixtures.ts';

/** An upload whose body is held open until `finish()`: the create stays in flight meanwhile. */
async function heldUpload(image: Uint8Array) {
  const form = new Response(multipart(image, { prompt: 'What is this?' }));
  const bytes = new Uint8Array(await form.arrayBuffer());
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(bytes.subarray(0, 64));
    },
  });
  return {
    init: {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'content-type': form.headers.get('content-type')! },
    } as RequestInit,
    finish() {
      controller.enqueue(bytes.subarray(64));
      controller.close();
    },
  };
}

describe('MAX_CONCURRENT_UPLOADS: load shedding before the body is read', () => {
  let h: EdgeHarness;
  let image: Uint8Array;
  before(async () => {
    h = await startEdgeHarness();
    image = await jpeg(40, 30);
  });
  after(() => h.close());

  test('the upload past the limit gets 429 instance_busy + Retry-After and writes nothing; the slot frees', async () => {
    const call = await h.variant({ MAX_CONCURRENT_UPLOADS: '1' });
    const first = await heldUpload(image);
    const pending = call('/v1/jobs', first.init);
    await new Promise((r) => setTimeout(r, 100)); // the first create is now reading its body
    const before = (await h.aws.store.list('')).items.length;

    const busy = await call('/v1/jobs', { method: 'POST', body: multipart(image, { prompt: 'Second' }) });
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('content-type'), 'application/problem+json');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.equal(((await busy.json()) as { code: string }).code, 'instance_busy');
    assert.equal((await h.aws.store.list('')).items.length, before, 'a refused create writes nothing');

    first.finish();
    assert.equal((await pending).status, 202);
    const again = await call('/v1/jobs', { method: 'POST', body: multipart(image, { prompt: 'Third' }) });
    assert.equal(again.status, 202);
  });
});
