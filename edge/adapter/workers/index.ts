/**
 * Cloudflare Workers module entry: the same Hono app, with S3/SQS through the AWS SDK (fetch-based in workerd),
 * images through the Cloudflare Images binding when `IMAGES` is bound, otherwise the WebAssembly codecs.
 * Configuration comes from Worker vars/secrets under the same names as the Node entry's environment.
 */
import avifWasm from '@jsquash/avif/codec/dec/avif_dec.wasm';
import jpegWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import webpWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import type { Hono } from 'hono';
import { createS3Client, S3ObjectStore } from '../../../shared/aws/s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from '../../../shared/aws/sqs-job-queue.ts';
import { createApp } from '../../app.ts';
import { parseEdgeConfig } from '../../config.ts';
import type { EdgeEnv } from '../../context.ts';
import { type ImagesBindingLike, ImagesBindingProcessor } from '../../image/images-binding-processor.ts';
import { WasmImageProcessor } from '../../image/wasm-image-processor.ts';
import { consoleLogger } from './console-logger.ts';

export interface WorkerBindings {
  IMAGES?: ImagesBindingLike;
  [name: string]: unknown;
}

function stringVars(env: WorkerBindings): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

export function buildWorkersApp(env: WorkerBindings): Hono<EdgeEnv> {
  const vars = stringVars(env);
  const config = parseEdgeConfig(vars);
  const credentials =
    vars.AWS_ACCESS_KEY_ID && vars.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: vars.AWS_ACCESS_KEY_ID,
          secretAccessKey: vars.AWS_SECRET_ACCESS_KEY,
          ...(vars.AWS_SESSION_TOKEN ? { sessionToken: vars.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  const s3 = createS3Client({
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL_S3 ? { endpoint: config.AWS_ENDPOINT_URL_S3 } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(credentials ? { credentials } : {}),
  });
  const sqs = createSqsClient({
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
    ...(credentials ? { credentials } : {}),
  });
  return createApp({
    store: new S3ObjectStore({ bucket: config.S3_BUCKET, client: s3, conditionalWrites: config.S3_CONDITIONAL_WRITES }),
    jobQueue: new SqsJobQueue(sqs, config.JOB_QUEUE_URL),
    webhookQueue: new SqsJobQueue(sqs, config.WEBHOOK_QUEUE_URL),
    images: env.IMAGES
      ? new ImagesBindingProcessor(env.IMAGES, pngWasm)
      : new WasmImageProcessor(
          { jpeg: jpegWasm, png: pngWasm, webp: webpWasm, avif: avifWasm },
          vars.WORKERS_MAX_PIXELS ? { maxPixels: positiveInt('WORKERS_MAX_PIXELS', vars.WORKERS_MAX_PIXELS) } : {},
        ),
    config,
    logger: consoleLogger(config.LOG_LEVEL),
    // image_url ingest and webhook-URL address checks need DNS resolution (shared/net/ssrf.ts, Node only):
    // on Workers such requests get 422 image_fetch_failed, and webhook targets are checked at delivery.
  });
}

let app: Hono<EdgeEnv> | undefined;

export default {
  fetch(
    request: Request,
    env: WorkerBindings,
    ctx: { waitUntil(p: Promise<unknown>): void },
  ): Response | Promise<Response> {
    app ??= buildWorkersApp(env);
    return app.fetch(request, env, ctx as never);
  },
};
