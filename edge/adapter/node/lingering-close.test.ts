/**
 * Uploads refused before they have fully arrived, against the real Node server: undici `fetch`, `curl` and a raw
 * socket client that reads nothing until it has sent everything (as Python `requests` does) each send 25 MB and 60 MB
 * bodies, with Content-Length and chunked, and each must read the problem+json answer rather than a reset. Then the
 * bounds of the lingering close: a client that stalls, one that never stops sending and one that trickles forever
 * are all closed, and no socket is left open.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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

const MB = 1_000_000;
const MIB = 1024 * 1024;
const SIZES = [25 * MB, 60 * MB];
const CONTENT_TYPE = 'multipart/form-data; boundary=lingerBoundary';
/** Every body is sent in 1 MiB pieces this far apart: still arriving when the refusal goes out. */
const PACE_MS = 15;

let aws: LocalAws;
let files: string;

before(async () => {
  aws = await startLocalAws();
  files = mkdtempSync(join(tmpdir(), 'linger-'));
  for (const size of SIZES) writeFileSync(join(files, String(size)), Buffer.alloc(size, 0x41));
});
after(async () => {
  await aws.close();
  rmSync(files, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}): Promise<EdgeServer> {
  const config = parseEdgeConfig(
    await edgeEnv(aws, { PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0', ...env }),
  );
  return startEdgeServer(config);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (generous bound) until the server holds no client connection. */
async function expectNoConnections(server: EdgeServer, withinMs = 30_000): Promise<void> {
  const until = Date.now() + withinMs;
  let open = await server.connections();
  while (open > 0 && Date.now() < until) {
    await sleep(50);
    open = await server.connections();
  }
  assert.equal(open, 0, 'sockets left open on the server');
}

function head(size: number | 'chunked', key: string): string {
  return postHead(key, [size === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`], CONTENT_TYPE);
}

const write = (socket: Socket, data: string | Uint8Array) =>
  new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));

function rawPost(
  port: number,
  size: number,
  framing: 'length' | 'chunked',
  key: string = KEYS.acme,
): Promise<RawAnswer> {
  return sendThenRead(port, head(framing === 'chunked' ? 'chunked' : size, key), size, {
    chunked: framing === 'chunked',
    paceMs: PACE_MS,
  });
}

function pacedStream(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    async pull(c) {
      if (sent >= size) return c.close();
      if (sent > 0) await sleep(PACE_MS);
      const n = Math.min(MIB, size - sent);
      c.enqueue(new Uint8Array(n).fill(0x41));
      sent += n;
    },
  });
}

async function undiciPost(url: string, size: number, framing: 'length' | 'chunked'): Promise<RawAnswer> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${KEYS.acme}`,
    'content-type': CONTENT_TYPE,
  };
  if (framing === 'length') headers['content-length'] = String(size);
  const res = await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers,
    body: pacedStream(size),
    duplex: 'half',
  } as RequestInit).catch((err: Error) => {
    throw new Error(`fetch failed: ${String((err.cause as Error | undefined)?.message ?? err.message)}`);
  });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    headers: new Map(res.headers),
    body: await res.text(),
  };
}

function curlPost(url: string, size: number, framing: 'length' | 'chunked'): Promise<RawAnswer> {
  const out = join(files, `answer-${size}-${framing}`);
  const args = [
    '-sS',
    '-o',
    out,
    '-w',
    '%{http_code} %{content_type}',
    '--limit-rate',
    '64M',
    '-H',
    `Authorization: Bearer ${KEYS.acme}`,
    '-H',
    `Content-Type: ${CONTENT_TYPE}`,
    ...(framing === 'chunked' ? ['-H', 'Transfer-Encoding: chunked'] : []),
    '--data-binary',
    `@${join(files, String(size))}`,
    `${url}/v1/jobs`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl exited ${code}: ${stderr.trim()}`));
      const [status, contentType] = stdout.split(' ');
      resolve({
        status: Number(status),
        contentType: contentType ?? null,
        headers: new Map(),
        body: readFileSync(out, 'utf8'),
      });
    });
  });
}

describe('an upload refused before it has arrived: every client reads the answer', () => {
  let server: EdgeServer;
  let port: number;
  before(async () => {
    server = await start({ MAX_CONCURRENT_UPLOADS: '1' });
    port = Number(new URL(server.url).port);
  });
  after(() => server.close());

  const clients = {
    'raw socket': (size: number, framing: 'length' | 'chunked') => rawPost(port, size, framing),
    'undici fetch': (size: number, framing: 'length' | 'chunked') => undiciPost(server.url, size, framing),
    curl: (size: number, framing: 'length' | 'chunked') => curlPost(server.url, size, framing),
  };
  for (const [name, post] of Object.entries(clients))
    test(`${name}: 25 MB and 60 MB, with Content-Length and chunked → 413 payload_too_large`, async () => {
      for (const size of SIZES)
        for (const framing of ['length', 'chunked'] as const)
          assertProblem(await post(size, framing), 413, 'payload_too_large', `${name} ${size / MB} MB ${framing}`);
    });

  test('a bad key (401) and a busy instance (429 instance_busy) are read by a client that sends first', async () => {
    assertProblem(
      await rawPost(port, 25 * MB, 'length', 'yvl_wrong_key_0123456789abcdef0123'),
      401,
      'unauthorized',
      '401',
    );
    // An upload whose body never comes holds the instance's only slot.
    const holder = connect(port, '127.0.0.1');
    holder.on('error', () => {});
    holder.write(`${head(2 * MIB, KEYS.acme)}${'x'.repeat(1000)}`);
    try {
      // Small complete requests: 400 while the slot is free, 429 once the holder has it.
      for (const until = Date.now() + 20_000; ; ) {
        const probe = await fetch(`${server.url}/v1/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': CONTENT_TYPE },
          body: 'x',
        });
        await probe.arrayBuffer();
        if (probe.status === 429) break;
        assert.ok(Date.now() < until, 'the holding upload never took the slot');
        await sleep(50);
      }
      assertProblem(await rawPost(port, 25 * MB, 'chunked'), 429, 'instance_busy', '429');
    } finally {
      holder.destroy();
    }
  });

  test('no socket is left open', () => expectNoConnections(server));
});

describe('the lingering close is bounded', () => {
  /** Idle and byte bounds, with a time bound far away so that it cannot be what closes the connection. */
  let bounded: EdgeServer;
  /** A short time bound. */
  let brief: EdgeServer;
  before(async () => {
    const common = { MAX_UPLOAD_BYTES: String(MIB), LINGER_MAX_BYTES: String(4 * MIB) };
    bounded = await start({ ...common, LINGER_MAX_SECONDS: '120', LINGER_IDLE_SECONDS: '1' });
    brief = await start({ ...common, LINGER_MAX_SECONDS: '2', LINGER_IDLE_SECONDS: '60' });
  });
  after(() => Promise.all([bounded.close(), brief.close()]));

  /**
   * Connects and reads everything the server sends. The client's own side stays open after the server's FIN, so
   * only the server's bounds can end the connection.
   */
  function client(server: EdgeServer) {
    const socket = connect({ port: Number(new URL(server.url).port), host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {}); // a reset is how the byte and time bounds end a connection still receiving
    const answered = new Promise<void>((resolve) => socket.once('end', () => resolve())); // the server's FIN
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    return { socket, received: () => Buffer.concat(chunks), answered, closed };
  }

  const within = async (p: Promise<unknown>, ms: number, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
    });
    await Promise.race([p, late]).finally(() => clearTimeout(timer));
  };

  test('a client that stops sending is closed after the idle bound', async () => {
    const c = client(bounded);
    c.socket.write(`${head(10 * MIB, KEYS.acme)}${'A'.repeat(64 * 1024)}`);
    await within(c.answered, 20_000, 'stalled client');
    assertProblem(parseAnswer(c.received()), 413, 'payload_too_large', 'stalled client');
    // A close after the FIN sends nothing a client that neither reads nor writes could see: count on the server.
    await expectNoConnections(bounded, 20_000);
    c.socket.destroy();
  });

  test('a client that never stops sending is closed after the byte bound', async () => {
    const c = client(bounded);
    let open = true;
    void c.closed.then(() => (open = false));
    let written = 0;
    const piece = Buffer.alloc(256 * 1024, 0x41);
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    c.socket.write(head('chunked', KEYS.acme));
    while (open && written < 1024 * MIB) {
      if (
        !(await write(c.socket, chunk).then(
          () => true,
          () => false,
        ))
      )
        break;
      written += piece.length;
    }
    await within(c.closed, 20_000, 'endless client');
    assertProblem(parseAnswer(c.received()), 413, 'payload_too_large', 'endless client');
    // 1 MiB read by the app + 4 MiB discarded + what the socket buffers hold; loopback would carry GiBs otherwise.
    assert.ok(written < 64 * MIB, `the client sent ${written} bytes before the server closed`);
    await expectNoConnections(bounded);
  });

  test('a client that trickles forever is closed after the time bound', async () => {
    const c = client(brief);
    let open = true;
    void c.closed.then(() => (open = false));
    c.socket.write(head(10 * MIB, KEYS.acme));
    const started = Date.now();
    while (open && Date.now() - started < 30_000) {
      c.socket.write('A'.repeat(1024));
      await sleep(200);
    }
    await within(c.closed, 1_000, 'trickling client');
    assertProblem(parseAnswer(c.received()), 413, 'payload_too_large', 'trickling client');
    await expectNoConnections(brief);
  });
});
