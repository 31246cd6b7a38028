/**
 * Copies the converted model (docs/model-format.md) from `MODEL_S3_URI` into `MODEL_DIR` at container start.
 * Files are written to a temporary name and renamed when complete; a stamp of the listing (keys, sizes, ETags) makes
 * a restart with an unchanged model skip the download, and a changed model fetch only what differs.
 *
 *   AWS_REGION=… MODEL_S3_URI=s3://bucket/models/yi-vl-6b/ MODEL_DIR=/models/yi-vl tsx infra/docker/pull-model.ts
 *
 * The environment is read once through shared/config (`loadModelPullConfig`): a missing or bad variable is one line
 * and exit code 2, before anything is fetched.
 */
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { createS3Client } from '../../shared/aws/s3-object-store.ts';
import { awsEnvShape, ConfigError, type Env, envVar, parseEnv } from '../../shared/config/env.ts';
import { parseS3Uri } from '../lib/s3-uri.ts';

export const STAMP_FILE = '.model-source.json';

/** What the puller reads, once, at container start (credentials come from the AWS SDK's own chain). */
export const modelPullEnvSchema = z.object({
  AWS_REGION: awsEnvShape.AWS_REGION,
  AWS_ENDPOINT_URL_S3: awsEnvShape.AWS_ENDPOINT_URL_S3,
  S3_FORCE_PATH_STYLE: awsEnvShape.S3_FORCE_PATH_STYLE,
  MODEL_S3_URI: envVar
    .string('s3://bucket/prefix/ of a converted model (npm run model -- prepare, then aws s3 sync)')
    .refine(
      (uri) => {
        try {
          parseS3Uri(uri);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be s3://bucket/prefix/' },
    ),
  MODEL_DIR: envVar.string('folder the model is copied into (the worker loads it from there)'),
});
export type ModelPullConfig = z.infer<typeof modelPullEnvSchema>;

/** Parses the environment; throws `ConfigError` naming every missing or invalid variable. */
export function loadModelPullConfig(env: Env): ModelPullConfig {
  return parseEnv(modelPullEnvSchema, env);
}

export interface ModelObject {
  key: string;
  /** Path relative to the model folder. */
  path: string;
  size: number;
  etag: string;
}

export interface PullResult {
  downloaded: string[];
  skipped: string[];
  bytes: number;
}

export async function listModel(client: S3Client, bucket: string, prefix: string): Promise<ModelObject[]> {
  const objects: ModelObject[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      objects.push({ key: o.Key, path: o.Key.slice(prefix.length), size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

function safeTarget(dir: string, path: string): string {
  const target = resolve(dir, path);
  if (!target.startsWith(resolve(dir) + sep)) throw new Error(`model key escapes MODEL_DIR: ${path}`);
  return target;
}

function readStamp(dir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(dir, STAMP_FILE), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

const fingerprint = (o: ModelObject) => `${o.size}:${o.etag}`;

export async function pullModel(opts: {
  client: S3Client;
  uri: string;
  dir: string;
  concurrency?: number;
}): Promise<PullResult> {
  const { bucket, prefix } = parseS3Uri(opts.uri);
  const objects = await listModel(opts.client, bucket, prefix);
  if (!objects.some((o) => o.path === 'manifest.json')) {
    throw new Error(`no manifest.json under ${opts.uri}: upload a converted model folder (docs/model-format.md)`);
  }
  await mkdir(opts.dir, { recursive: true });
  const stamp = readStamp(opts.dir);
  const result: PullResult = { downloaded: [], skipped: [], bytes: 0 };
  const todo = objects.filter((o) => {
    const target = safeTarget(opts.dir, o.path);
    const current = stamp[o.path] === fingerprint(o) && existsSync(target) && statSync(target).size === o.size;
    if (current) result.skipped.push(o.path);
    return !current;
  });
  // The stamp is rewritten only after every file is in place, so an interrupted pull is resumed, not trusted.
  await rm(join(opts.dir, STAMP_FILE), { force: true });
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const o = todo[next++]!;
      const target = safeTarget(opts.dir, o.path);
      await mkdir(dirname(target), { recursive: true });
      const partial = `${target}.partial`;
      const res = await opts.client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key }));
      await pipeline(res.Body as Readable, createWriteStream(partial));
      const size = statSync(partial).size;
      if (size !== o.size) throw new Error(`${o.path}: got ${size} bytes, expected ${o.size}`);
      await rename(partial, target);
      result.downloaded.push(o.path);
      result.bytes += size;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker));
  const newStamp = Object.fromEntries(objects.map((o) => [o.path, fingerprint(o)]));
  await writeFile(join(opts.dir, STAMP_FILE), JSON.stringify(newStamp, null, 2));
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let config: ModelPullConfig;
  try {
    config = loadModelPullConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`pull-model: ${err.message}`);
    process.exit(2);
  }
  const client = createS3Client({
    region: config.AWS_REGION,
    endpoint: config.AWS_ENDPOINT_URL_S3,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  const started = Date.now();
  const res = await pullModel({ client, uri: config.MODEL_S3_URI, dir: config.MODEL_DIR });
  const log = {
    level: 'info',
    msg: 'model ready',
    dir: relative(process.cwd(), config.MODEL_DIR) || config.MODEL_DIR,
    downloaded: res.downloaded.length,
    skipped: res.skipped.length,
    mib: Math.round(res.bytes / 2 ** 20),
    ms: Date.now() - started,
  };
  console.log(JSON.stringify(log));
}
