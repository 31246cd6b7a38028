import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProblemError } from '../../shared/errors/problem.ts';
import { readBodyCapped } from './read-body.ts';

const streamOf = (chunks: number, size: number, pulled: { n: number }) =>
  new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled.n >= chunks) return c.close();
      pulled.n++;
      c.enqueue(new Uint8Array(size));
    },
  });

test('reads a body under the cap and stops pulling a stream at the first chunk over it', async () => {
  const small = new Request('http://x/', { method: 'POST', body: new Uint8Array(100) });
  assert.equal((await readBodyCapped(small, 100)).byteLength, 100);
  const pulled = { n: 0 };
  const big = new Request('http://x/', {
    method: 'POST',
    body: streamOf(1000, 1024, pulled),
    duplex: 'half',
  } as RequestInit);
  await assert.rejects(
    readBodyCapped(big, 10 * 1024),
    (e) => e instanceof ProblemError && e.code === 'payload_too_large',
  );
  assert.ok(pulled.n <= 13, `pulled ${pulled.n} chunks`);
  assert.equal((await readBodyCapped(new Request('http://x/'), 10)).byteLength, 0);
});
