/**
 * Requests whose HTTP framing Node's parser refuses before the app sees them (two Content-Length headers,
 * Content-Length with chunked, a bad chunk size) are answered with the same problem+json as any bad request.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { edgeEnv, KEYS } from '../../../test/edge/support/edge-harness.ts';
import {
  assertProblem,
  parseAnswer,
  postHead,
  type RawAnswer,
  sendThenRead,
} from '../../../test/edge/support/raw-http.ts';
import { type LocalAws, startLocalAws } from '../../../test/support/local-aws.ts';
import { parseEdgeConfig } from '../../config.ts';
import { type EdgeServer, startEdgeServer } from './server.ts';

let aws: LocalAws;
let server: EdgeServer;
let port: number;

before(async () => {
  aws = await startLocalAws();
  server = await startEdgeServer(parseEdgeConfig(await edgeEnv(aws, { PORT: '0', LOG_LEVEL: 'silent' })));
  port = Number(new URL(server.url).port);
});
after(async () => {
  await server.close();
  await aws.close();
});

/** Sends `bytes` (then half-closes, unless told not to) and reads until the server closes. */
function exchange(bytes: string, halfClose = true): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
  });
}

const body = '--rawBoundary--\r\n';
const cases: [string, string][] = [
  ['two Content-Length headers', postHead(KEYS.acme, ['Content-Length: 17', 'Content-Length: 18']) + body],
  [
    'Content-Length with chunked',
    `${postHead(KEYS.acme, ['Content-Length: 17', 'Transfer-Encoding: chunked'])}11\r\n${body}\r\n0\r\n\r\n`,
  ],
  ['a bad chunk size', `${postHead(KEYS.acme, ['Transfer-Encoding: chunked'])}zz\r\n${body}\r\n0\r\n\r\n`],
];

for (const [what, bytes] of cases)
  test(`${what}: 400 malformed_request as problem+json, with a request-id`, async () => {
    const answer = await exchange(bytes);
    assertProblem(answer, 400, 'malformed_request', what);
    assert.match(answer.headers.get('request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(answer.headers.get('connection'), 'close');
    const p = JSON.parse(answer.body) as { status: number; detail: string };
    assert.equal(p.status, 400);
    assert.match(p.detail, /could not be parsed/);
  });

test('a 25 MB body behind refused framing: a client that sends everything first still reads the answer', async () => {
  const head = postHead(KEYS.acme, [`Content-Length: ${25_000_000}`, `Content-Length: ${25_000_001}`]);
  assertProblem(await sendThenRead(port, head, 25_000_000, { paceMs: 15 }), 400, 'malformed_request', 'large body');
});

test('an oversized head still gets Node’s own 431', async () => {
  const answer = await exchange(postHead(KEYS.acme, [`X-Padding: ${'p'.repeat(20_000)}`, 'Content-Length: 0']));
  assert.equal(answer.status, 431);
});

test('the server still answers afterwards, and holds no socket', async () => {
  const health = await exchange('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', false);
  assert.equal(health.status, 200);
  const until = Date.now() + 30_000;
  while ((await server.connections()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await server.connections(), 0);
});
