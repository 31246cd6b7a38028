import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PROBLEM_CONTENT_TYPE, type ProblemCode, problem } from '../../../shared/errors/problem.ts';
import type { EdgeLogger } from '../../logger.ts';
import type { LingeringClose } from './lingering-close.ts';

/** A request Node's HTTP parser refused (its 'clientError' event): `code` is llhttp's, `reason` its explanation. */
export type ClientError = Error & { code?: string; reason?: string };

/** Refusals with no problem code: answered as Node's server answers them by default. */
const BARE: Record<string, number> = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 };

const PROBLEMS: Record<string, { code: ProblemCode; detail: string }> = {
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { code: 'payload_too_large', detail: 'The chunk extensions are too large.' },
};

/**
 * The 'clientError' hook of the Node server: a request whose HTTP framing the parser refuses (two Content-Length
 * headers, Content-Length with Transfer-Encoding, a bad chunk size, …) never reaches the app, and Node would answer
 * it with a bare 400. It gets the same problem+json (with a `request-id`) as any other bad request, then a lingering
 * close. Follows Node's rule for when an answer may be written at all: only on a writable socket whose current
 * response (if any) has not started.
 */
export function answerClientError(err: ClientError, socket: Socket, lingering: LingeringClose, log: EdgeLogger): void {
  // The parser stays failed: every later read on this socket lands here while the socket lingers.
  if (lingering.has(socket)) {
    lingering.received(socket);
    return;
  }
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const requestId = crypto.randomUUID();
  const bare = err.code ? BARE[err.code] : undefined;
  let status: number;
  let body = '';
  const headers = ['Connection: close', `request-id: ${requestId}`];
  if (bare) {
    status = bare;
  } else {
    const known = err.code ? PROBLEMS[err.code] : undefined;
    const p = known
      ? problem(known.code, known.detail)
      : problem('malformed_request', `The HTTP request could not be parsed: ${describe(err)}.`);
    status = p.status;
    body = JSON.stringify(p);
    headers.push(`Content-Type: ${PROBLEM_CONTENT_TYPE}`, 'Cache-Control: no-store');
  }
  headers.push(`Content-Length: ${Buffer.byteLength(body)}`);
  log.info({ req_id: requestId, status, parser: err.code }, 'request refused by the HTTP parser');
  socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
  // A request already handed to the app would have its answer written after this one: close as Node does.
  if (inFlight) socket.destroy();
  else lingering.start(socket);
}

/** llhttp's reason ("Duplicate Content-Length", …), kept to plain characters; the error code otherwise. */
function describe(err: ClientError): string {
  const reason = typeof err.reason === 'string' ? err.reason : (err.code ?? 'bad framing');
  return (
    reason
      .replace(/[^\w .,:'-]/g, '')
      .slice(0, 120)
      .trim() || 'bad framing'
  );
}
