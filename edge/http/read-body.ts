import { concatBytes } from '../../shared/bytes.ts';
import { ProblemError } from '../../shared/errors/problem.ts';

/**
 * Reads a request body, refusing it with 413 as soon as it passes `cap` bytes: a declared Content-Length over the
 * cap is refused before any byte is read, and a streamed body is cut off at the first chunk over the cap, so no
 * more than `cap` bytes (plus one chunk) are ever held.
 */
export async function readBodyCapped(req: Request, cap: number, what = 'request body'): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > cap) throw tooLarge(what, cap);
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        await reader.cancel().catch(() => {});
        throw tooLarge(what, cap);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    throw new ProblemError('malformed_request', 'The request body could not be read.');
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}

function tooLarge(what: string, cap: number): ProblemError {
  return new ProblemError('payload_too_large', `The ${what} exceeds ${cap} bytes.`, { max_bytes: cap });
}

/** A multipart body already read (and capped) as the request's FormData; 400 when it does not parse. */
export async function multipartFormOf(req: Request, body: Uint8Array): Promise<FormData> {
  try {
    return await new Response(body as Uint8Array<ArrayBuffer>, {
      headers: { 'content-type': req.headers.get('content-type')! },
    }).formData();
  } catch {
    throw new ProblemError('malformed_request', 'The multipart body could not be parsed.');
  }
}
