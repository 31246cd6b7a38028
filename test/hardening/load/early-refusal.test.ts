/**
 * An upload refused before its body has fully arrived (a streamed body over the byte cap, a
 * big upload with a bad key) was answered on a keep-alive socket that @hono/node-server then destroyed after its
 * 500 ms drain, so the client's *next* request on that socket — often a valid upload — failed with "other side
 * closed". The Node server now answers such refusals with `Connection: close` (edge/adapter/node/server.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type EdgeServer, startEdgeServer } from '../../../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../../../edge/config.ts';
import { edgeEnv, KEYS } from '../../edge/support/edge-harness.ts';
import { jpeg, multipart } from '../../edge/support/fixtures.ts';
import { type LocalAws, startLocalAws } from '../../support/local-aws.ts';

const CAP = 1024 * 1024;
let aws: LocalAws;
let server: EdgeServer;
let small: FormData;

before(async () => {
  aws = await startLocalAws();
  server = await startEdgeServer(
    parseEdgeConfig(await edgeEnv(aws, { PORT: '0', MAX_UPLOAD_BYTES: String(CAP), LOG_LEVEL: 'silent' })),
  );
  small = multipart(await jpeg(16, 16), { prompt: 'Hi' });
});
after(async () => {
  await server.close();
  await aws.close();
});

/** `total` bytes in 32 KiB chunks `delayMs` apart: still arriving when the refusal goes out. */
function slowBody(total: number, delayMs: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(c) {
      if (sent >= total) return c.close();
      await new Promise((r) => setTimeout(r, delayMs));
      c.enqueue(new Uint8Array(32 * 1024).fill(0x41));
      sent += 32 * 1024;
    },
  });
}

async function post(body: BodyInit | ReadableStream<Uint8Array>, key: string = KEYS.acme): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body instanceof ReadableStream) headers['content-type'] = 'multipart/form-data; boundary=x';
  return fetch(`${server.url}/v1/jobs`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
}

test('a refusal sent before the body has arrived closes the connection, and the next request still succeeds', async () => {
  // Over the cap and still in flight (~1 s) when refused.
  const refused = await post(slowBody(CAP + 512 * 1024, 20));
  assert.equal(refused.status, 413);
  assert.equal(refused.headers.get('connection'), 'close');
  await refused.text();
  const next = await post(small);
  assert.equal(next.status, 202);

  const badKey = await post(slowBody(CAP + 512 * 1024, 20), 'yvl_wrong_key_0123456789abcdef0123');
  assert.equal(badKey.status, 401);
  assert.equal(badKey.headers.get('connection'), 'close');
  await badKey.text();
});

test('a fully received request keeps its connection alive', async () => {
  const ok = await post(small);
  assert.equal(ok.status, 202);
  assert.notEqual(ok.headers.get('connection'), 'close');
  await ok.text();
});

test('interleaved over-cap streams and valid uploads from concurrent clients: every valid upload gets its 202', async () => {
  // Fails without the fix: the valid upload that follows a refusal on the same keep-alive socket got no answer.
  const answer = (res: Promise<Response>) =>
    res.then(
      async (r) => `${r.status}${(await r.text()) && ''}`,
      (err: Error) => `no answer: ${String((err.cause as { message?: string } | undefined)?.message ?? err)}`,
    );
  const outcomes = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const valid: string[] = [];
      for (let i = 0; i < 4; i++) {
        await answer(post(fastBody(CAP + 512 * 1024))); // its own fate is the first test's business
        valid.push(await answer(post(small)));
      }
      return valid;
    }),
  );
  assert.deepEqual(outcomes.flat(), Array(32).fill('202'));
});

/** `total` bytes in 1 MiB chunks, as fast as the socket takes them. */
function fastBody(total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(1024 * 1024, total - sent);
      c.enqueue(new Uint8Array(n).fill(0x41));
      sent += n;
    },
  });
}
