/**
 * One file from the Hub, resumable and verified: bytes go to `<file>.part` (appended with a Range request after an
 * interruption, in this run or a later one), the whole file is checked against the checksum the Hub lists, and only
 * then renamed into place. Dropped connections are retried from where the `.part` file ends.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadFile, HubApiError } from '@huggingface/hub';
import { type Checksum, describeChecksum, hashFileInto, startChecksum } from './checksum.ts';
import type { RepoFile } from './repo-files.ts';

/** Where and as whom to download: a repository at one commit on one Hub (or mirror). */
export interface HubLocation {
  repo: string;
  /** a commit id, so that every file comes from the same snapshot */
  revision: string;
  hubUrl: string;
  accessToken?: string;
  fetch?: typeof fetch;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called with each change of the bytes on disk for this file (negative when a bad `.part` is discarded). */
  onBytes?: (delta: number) => void;
  /** attempts after a dropped connection or a server error (default 5) */
  retries?: number;
  /** first retry delay, doubled per attempt up to 30 s (default 1000) */
  retryDelayMs?: number;
  /** an attempt that receives no byte for this long is dropped and resumed (default 60 000) */
  stallTimeoutMs?: number;
}

export interface DownloadResult {
  /** bytes already in `.part` when this call started (0: a fresh download) */
  resumedFrom: number;
  /** bytes fetched by this call */
  fetched: number;
}

export class ChecksumError extends Error {
  constructor(
    readonly path: string,
    readonly expected: Checksum,
    readonly actual: string,
  ) {
    super(
      `${path}: checksum mismatch — the Hub lists ${describeChecksum(expected)}, the download has ${actual}; ` +
        'the file was discarded (run the pull again; a mirror or proxy may be serving a damaged copy)',
    );
    this.name = 'ChecksumError';
  }
}

export class StalledError extends Error {
  constructor(path: string, ms: number) {
    super(`${path}: no data for ${ms / 1000} s`);
    this.name = 'StalledError';
  }
}

/** Errors worth another attempt: dropped connections, timeouts, 5xx, 429 — not 401/403/404 or a bad checksum. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof ChecksumError) return false;
  if (err instanceof HubApiError) return err.statusCode >= 500 || err.statusCode === 408 || err.statusCode === 429;
  return !(err instanceof Error && err.name === 'AbortError');
}

const sizeOf = async (path: string) => (await stat(path).catch(() => null))?.size ?? 0;
const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

export async function downloadVerified(
  at: HubLocation,
  file: RepoFile,
  target: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const part = `${target}.part`;
  await mkdir(dirname(target), { recursive: true });
  const onBytes = opts.onBytes ?? (() => {});
  const retries = opts.retries ?? 5;
  const startedWith = await sizeOf(part);
  let reported = Math.min(startedWith, file.size); // bytes of this file the caller already counts as present
  let fetched = 0;
  let failures = 0;
  let discardedOnce = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    let have = await sizeOf(part);
    if (have > file.size) {
      await rm(part, { force: true });
      have = 0;
    }
    onBytes(have - reported);
    reported = have;
    // The checksum covers the whole file, so what is already on disk is read back first.
    const hash = startChecksum(file.checksum.kind, file.size);
    await hashFileInto(part, hash, have);
    if (have < file.size) {
      try {
        const got = await appendFromHub(
          at,
          file,
          part,
          have,
          (n) => {
            hash.update(n);
            fetched += n.length;
            reported += n.length;
            onBytes(n.length);
          },
          opts.signal,
          opts.stallTimeoutMs ?? 60_000,
        );
        if (have + got !== file.size)
          throw new Error(`${file.path}: the connection closed after ${have + got} of ${file.size} bytes`);
      } catch (e) {
        const err = asError(e);
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        if (!isRetryable(err) || ++failures > retries) throw err;
        await sleep(Math.min(30_000, (opts.retryDelayMs ?? 1000) * 2 ** (failures - 1)), undefined, {
          signal: opts.signal,
        });
        continue;
      }
    }
    const digest = hash.digest('hex');
    if (digest === file.checksum.hex) {
      await rename(part, target);
      return { resumedFrom: startedWith, fetched };
    }
    await rm(part, { force: true });
    onBytes(-reported);
    reported = 0;
    // A `.part` left by an earlier run may hold bytes from a different upload of the file: one fresh try.
    if (startedWith > 0 && !discardedOnce) {
      discardedOnce = true;
      continue;
    }
    throw new ChecksumError(file.path, file.checksum, digest);
  }
}

/**
 * Streams bytes `from…` of the file into `part` (appending), passing each chunk to `onChunk`; returns the count.
 * A watchdog drops a connection that stays open but sends nothing for `stallTimeoutMs` (retried, resumed).
 */
async function appendFromHub(
  at: HubLocation,
  file: RepoFile,
  part: string,
  from: number,
  onChunk: (chunk: Buffer) => void,
  outer: AbortSignal | undefined,
  stallTimeoutMs: number,
): Promise<number> {
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(new StalledError(file.path, stallTimeoutMs)), stallTimeoutMs);
  };
  const signal = outer ? AbortSignal.any([outer, stall.signal]) : stall.signal;
  const baseFetch = at.fetch ?? fetch;
  arm();
  try {
    const blob = await downloadFile({
      repo: at.repo,
      path: file.path,
      revision: at.revision,
      hubUrl: at.hubUrl,
      ...(at.accessToken ? { accessToken: at.accessToken } : {}),
      fetch: (input, init) => baseFetch(input, { ...init, signal }),
      // Plain HTTP with Range requests: resumable, and the same bytes whether the Hub stores the file in LFS or Xet.
      xet: false,
    });
    if (!blob) throw new Error(`${file.path}: not found in ${at.repo} at ${at.revision}`);
    if (blob.size !== file.size)
      throw new Error(`${file.path}: the Hub serves ${blob.size} bytes, its listing says ${file.size}`);
    const body = from > 0 ? blob.slice(from) : blob;
    let got = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        got += chunk.length;
        if (from + got > file.size) return cb(new Error(`${file.path}: more bytes than the file has (Range ignored?)`));
        arm();
        onChunk(chunk);
        cb(null, chunk);
      },
    });
    const source = Readable.fromWeb(body.stream() as NodeReadableStream<Uint8Array>);
    await pipeline(source, meter, createWriteStream(part, { flags: 'a' }), { signal });
    return got;
  } catch (err) {
    throw stall.signal.aborted && !outer?.aborted ? stall.signal.reason : err;
  } finally {
    clearTimeout(timer);
  }
}
