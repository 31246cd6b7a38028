/**
 * A local S3-compatible server: s3rver (filesystem-backed) behind a thin front that adds what s3rver lacks and AWS S3
 * has had since 2024 — atomic conditional writes (`If-None-Match: *` and `If-Match: <etag>` on PutObject, answered with
 * 412 PreconditionFailed). Mutations of one key are serialised so the check and the write cannot interleave.
 * Used by the tests and by the local stack; production talks to real S3 (or R2/MinIO) with the same adapter.
 */
import crypto from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import { listenRestartable } from './restartable-listener.ts';

export interface LocalS3Options {
  directory: string;
  port?: number;
  host?: string;
  buckets?: string[];
  /** Serve plain s3rver (no conditional writes), to exercise the adapter's emulated fallback. */
  plain?: boolean;
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  /** Stops accepting connections (data stays on disk); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: unknown;
}

interface FilesystemStoreLike {
  existsObject(bucket: string, key: string): Promise<boolean>;
  getMetadata(bucket: string, key: string): Promise<{ etag?: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver writes a PUT straight over the object's file and answers before the file is flushed, so a PUT cut off
 * mid-body (an outage drops the connection) leaves a truncated object for good, and a GET right after a PUT can read
 * a partial one. AWS S3 replaces whole objects atomically: write a temporary file, then rename it over the object.
 * (Listings only see files ending in `._S3rver_object`, so the temporary file is never listed.)
 */
function makePutsAtomic(store: FilesystemStoreLike): void {
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const tmp = `${objectPath}.${crypto.randomUUID()}.tmp`;
    const md5 = crypto.createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        md5.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(source, measure, createWriteStream(tmp));
      await rename(tmp, objectPath);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/**
 * s3rver encrypts ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 (Node ≥ 17) no longer offers,
 * so every truncated listing failed with a 500. Triple DES with three equal keys is single DES, and is available:
 * map s3rver's calls onto it. Affects only the process that runs the local server (tests, local stack).
 */
function patchDesForS3rver() {
  const mod = crypto as unknown as Record<string, unknown> & { __yiVlDesPatched?: boolean };
  if (mod.__yiVlDesPatched) return;
  const toEde3 = (key: crypto.CipherKey) => Buffer.concat([key as Buffer, key as Buffer, key as Buffer]);
  const { createCipheriv, createDecipheriv } = crypto;
  mod.createCipheriv = (alg: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    alg === 'des' ? createCipheriv('des-ede3-cbc', toEde3(key), iv) : createCipheriv(alg, key, iv);
  mod.createDecipheriv = (alg: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null) =>
    alg === 'des' ? createDecipheriv('des-ede3-cbc', toEde3(key), iv) : createDecipheriv(alg, key, iv);
  mod.__yiVlDesPatched = true;
}

export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  patchDesForS3rver();
  const host = options.host ?? '127.0.0.1';
  const s3 = new S3rver({
    directory: options.directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
    vhostBuckets: false,
  });
  // Serve s3rver's request handler from our own listener (so it can stop and start); buckets are created here.
  await s3.configureBuckets();
  const handler = s3.callback();
  const store = (s3 as unknown as { store: FilesystemStoreLike }).store;
  makePutsAtomic(store);
  const locks = new Map<string, Promise<void>>();

  async function withKeyLock(lockKey: string, fn: (release: () => void) => Promise<void>): Promise<void> {
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const chained = previous.then(() => mine);
    locks.set(lockKey, chained);
    await previous;
    try {
      await fn(release);
    } catch (err) {
      release();
      throw err;
    } finally {
      void chained.then(() => {
        if (locks.get(lockKey) === chained) locks.delete(lockKey);
      });
    }
  }

  function preconditionFailed(res: ServerResponse, key: string) {
    res.writeHead(412, { 'content-type': 'application/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition><Key>${key}</Key></Error>`,
    );
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, bucket, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    // Object-level PUT/DELETE (the SDK tags requests with `?x-id=…`); sub-resources like ?uploadId pass through.
    const objectLevel = [...url.searchParams.keys()].every((k) => k === 'x-id');
    const objectRequest = Boolean(bucket && key && objectLevel);
    const mutating = objectRequest && (req.method === 'PUT' || req.method === 'DELETE');
    // s3rver overwrites files in place, so a GET racing a PUT of the same key could read a torn object: reads of
    // a key are serialised with its writes too (AWS S3 gives read-after-write consistency on whole objects).
    if (options.plain || !objectRequest) {
      handler(req, res);
      return;
    }
    if (!mutating) {
      await withKeyLock(`${bucket}/${key}`, async (release) => {
        res.on('close', release);
        handler(req, res);
      });
      return;
    }
    await withKeyLock(`${bucket}/${key}`, async (release) => {
      res.on('close', release);
      const ifNoneMatch = req.headers['if-none-match'];
      const ifMatch = req.headers['if-match'];
      if (req.method === 'PUT' && (ifNoneMatch || ifMatch)) {
        const exists = await store.existsObject(bucket!, key);
        if (ifNoneMatch === '*' && exists) return preconditionFailed(res, key);
        if (ifMatch) {
          const etag = exists ? (await store.getMetadata(bucket!, key)).etag : undefined;
          const want = String(ifMatch).replaceAll('"', '');
          if (!etag || etag.replaceAll('"', '') !== want) return preconditionFailed(res, key);
        }
      }
      handler(req, res);
    });
  }

  const listener = await listenRestartable(
    (req, res) => {
      onRequest(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
    host,
    options.port,
  );
  return {
    endpoint: listener.endpoint,
    port: listener.port,
    stop: () => listener.stop(),
    start: () => listener.start(),
    close: () => listener.stop(),
  };
}
