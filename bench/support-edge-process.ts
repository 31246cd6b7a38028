/**
 * The Node edge in a process of its own for `npm run bench:edge`, so that its CPU time is the edge's alone (the
 * load generator and the S3/SQS servers run elsewhere). Configured from its environment like `npm run edge`. It serves
 * two edges that share the process: the real one, and one whose image step returns the model input it prepared for
 * the first upload (same bytes, no image work), which measures everything else the edge does per upload. Prints
 * `{"url": …, "noImageWorkUrl": …}` as one line, then answers each IPC message "cpu" with its process.cpuUsage()
 * (all threads: the event loop and libvips' pool), and `{alone: …}` with sharp alone's CPU per image in this process.
 */
import { startEdgeServer } from '../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../edge/config.ts';
import type { ImageLimits, ImageProcessor, PreparedImage } from '../edge/image/image-processor.ts';
import { SharpImageProcessor } from '../edge/image/sharp-image-processor.ts';
import { preprocessForYiVl } from '../shared/image/sharp-preprocess.ts';

/** Prepares the first upload for real, then answers every upload with that result. */
class PreparedOnce implements ImageProcessor {
  #prepared: Promise<PreparedImage> | undefined;
  prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage> {
    this.#prepared ??= new SharpImageProcessor().prepare(upload, limits);
    return this.#prepared;
  }
}

const config = parseEdgeConfig(process.env);
const server = await startEdgeServer(config);
const noImageWork = await startEdgeServer(config, { overrides: { images: new PreparedOnce() } });
console.log(JSON.stringify({ url: server.url, noImageWorkUrl: noImageWork.url }));
process.on('message', (msg: 'cpu' | { alone: { jpeg: string; concurrency: number; seconds: number } }) => {
  if (msg === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  else void sharpAlone(msg.alone).then((aloneMs) => process.send?.({ aloneMs }));
});

/** CPU ms per image of sharp alone run here, with no upload in flight: the edge's process without its HTTP work. */
async function sharpAlone(options: { jpeg: string; concurrency: number; seconds: number }): Promise<number> {
  const jpeg = new Uint8Array(Buffer.from(options.jpeg, 'base64'));
  const before = process.cpuUsage();
  const deadline = performance.now() + options.seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < deadline) {
        await preprocessForYiVl(jpeg);
        count++;
      }
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}
process.on('SIGTERM', () => {
  void Promise.all([server.close(), noImageWork.close()]).then(() => process.exit(0));
});
