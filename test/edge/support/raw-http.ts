/**
 * HTTP/1.1 over a plain socket, for tests of what the Node server does with the bytes themselves: request heads,
 * answers parsed from the wire (Content-Length or chunked).
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  contentType: string | null;
  headers: Map<string, string>;
  body: string;
}

/** A request head for `POST /v1/jobs` with the given framing lines (Content-Length, Transfer-Encoding, …). */
export function postHead(
  key: string,
  framing: string[],
  contentType = 'multipart/form-data; boundary=rawBoundary',
): string {
  return [
    'POST /v1/jobs HTTP/1.1',
    'Host: 127.0.0.1',
    `Authorization: Bearer ${key}`,
    `Content-Type: ${contentType}`,
    ...framing,
    '',
    '',
  ].join('\r\n');
}

/** The first answer in `raw` (as received on the socket). */
export function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no HTTP answer: ${JSON.stringify(raw.subarray(0, 120).toString('latin1'))}`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map(
    lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  let body = raw.subarray(end + 4);
  if (headers.get('transfer-encoding') === 'chunked') {
    const parts: Buffer[] = [];
    for (let p = 0; ; ) {
      const eol = body.indexOf('\r\n', p);
      const size = Number.parseInt(body.subarray(p, eol).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      p = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers.has('content-length')) body = body.subarray(0, Number(headers.get('content-length')));
  return {
    status: Number(lines[0]!.split(' ')[1]),
    contentType: headers.get('content-type') ?? null,
    headers,
    body: body.toString('utf8'),
  };
}

/** Asserts a problem+json answer with this status and code. */
export function assertProblem(answer: RawAnswer, status: number, code: string, who: string): void {
  assert.equal(answer.status, status, `${who}: status (${answer.body.slice(0, 200)})`);
  assert.equal(answer.contentType, 'application/problem+json', `${who}: content type`);
  assert.equal((JSON.parse(answer.body) as { code: string }).code, code, `${who}: problem code`);
}

const MIB = 1024 * 1024;

const write = (socket: Socket, data: string | Uint8Array) =>
  new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));

/**
 * A client that sends the whole request before it reads anything, as Python `requests` and many SDKs do: `head`,
 * then `size` body bytes in 1 MiB pieces `paceMs` apart (chunk-encoded when `chunked`), then it reads until the
 * server closes. A reset while it is still sending loses the answer, and is an error here.
 */
export async function sendThenRead(
  port: number,
  head: string,
  size: number,
  { chunked = false, paceMs = 0 }: { chunked?: boolean; paceMs?: number } = {},
): Promise<RawAnswer> {
  const socket = connect(port, '127.0.0.1');
  socket.pause();
  const received: Buffer[] = [];
  socket.on('data', (d) => received.push(d));
  let failure: Error | undefined;
  socket.on('error', (err) => {
    failure ??= err;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const piece = Buffer.alloc(MIB, 0x41);
  try {
    await write(socket, head);
    for (let sent = 0; sent < size; sent += MIB) {
      const data = piece.subarray(0, Math.min(MIB, size - sent));
      const framed = chunked ? [`${data.length.toString(16)}\r\n`, data, '\r\n'] : [data];
      for (const part of framed) await write(socket, part);
      if (paceMs > 0) await new Promise((r) => setTimeout(r, paceMs));
    }
    if (chunked) await write(socket, '0\r\n\r\n');
  } catch (err) {
    socket.destroy();
    throw new Error(`the connection was reset while the request was being sent: ${(err as Error).message}`);
  }
  socket.resume();
  await closed;
  if (failure) throw new Error(`the connection failed while the answer was being read: ${failure.message}`);
  return parseAnswer(Buffer.concat(received));
}
