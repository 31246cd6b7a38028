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
import { createAwsClients } from '../../../shared/aws/clients.ts';
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

export function buildWorkersApp(env: WorkerBindings): Hono<EdgeEnv> {
  const config = parseEdgeConfig(stringVars(env));
  const aws = createAwsClients(config);
  return createApp({
    store: aws.store,
    jobQueue: aws.queue(config.JOB_QUEUE_URL),
    webhookQueue: aws.queue(config.WEBHOOK_QUEUE_URL),
    ...(config.BATCH_QUEUE_URL ? { batchQueue: aws.queue(config.BATCH_QUEUE_URL) } : {}),
    images: env.IMAGES
      ? new ImagesBindingProcessor(env.IMAGES, pngWasm)
      : new WasmImageProcessor(
          { jpeg: jpegWasm, png: pngWasm, webp: webpWasm, avif: avifWasm },
          { maxPixels: config.WORKERS_MAX_PIXELS },
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
