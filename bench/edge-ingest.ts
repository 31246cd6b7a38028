/**
 * Edge ingest benchmark (`npm run bench:edge`): a ~2 MP JPEG uploaded end to end (HTTP multipart → sharp
 * preprocessing → S3 input + job record → SQS message) on the local stack servers, at concurrencies 1, 4 and 16,
 * printed beside sharp-alone preprocessing of the same image measured in the same run, with the ratio.
 * BENCH_SECONDS (default 3) bounds each measurement; the whole run takes ~8 × that.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startEdgeServer } from '../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../edge/config.ts';
import { loadWasmCodecModulesFromNodeModules } from '../edge/image/node-wasm-modules.ts';
import { WasmImageProcessor } from '../edge/image/wasm-image-processor.ts';
import { apiKeyEntry } from '../shared/config/api-keys.ts';
import { preprocessForYiVl } from '../shared/image/sharp-preprocess.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCIES = [1, 4, 16];
const KEY = 'yvl_bench_key_0123456789abcdef0123';

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  count: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs `op` from `concurrency` loops for `seconds`; throughput and latency percentiles. */
async function measure(concurrency: number, seconds: number, op: () => Promise<void>): Promise<Result> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    count: latencies.length,
  };
}

async function photoLikeJpeg(width: number, height: number): Promise<Uint8Array> {
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  })
    .blur(3)
    .png()
    .toBuffer();
  return new Uint8Array(await sharp(noise).jpeg({ quality: 85 }).toBuffer());
}

async function main(): Promise<void> {
  const jpeg = await photoLikeJpeg(1700, 1200);
  // The S3/SQS emulators run in their own process so their CPU is not charged to the edge's event loop.
  const services = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./support-local-services.ts', import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: services.stdout! }), 'line')) as [string];
  const awsEnv = JSON.parse(line) as Record<string, string>;
  // The Node entry's AWS SDK clients take credentials from the default provider chain (the environment).
  process.env.AWS_ACCESS_KEY_ID = awsEnv.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = awsEnv.AWS_SECRET_ACCESS_KEY;
  const config = parseEdgeConfig({
    ...awsEnv,
    API_KEYS: await apiKeyEntry('key_bench', 'bench', KEY),
    WEBHOOK_SIGNING_KEY: 'bench-signing-key-0123456789abcdef',
    LOG_LEVEL: 'warn',
    PORT: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    MAX_QUEUE_DEPTH: '0',
  });
  const server = await startEdgeServer(config);
  const form = new FormData();
  form.set('prompt', 'Describe the image.');
  form.set('image', new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'photo.jpg');
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type')!;
  const body = new Uint8Array(await encoded.arrayBuffer());

  const upload = async () => {
    const res = await fetch(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': contentType },
      body,
    });
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const alone = async () => {
    await preprocessForYiVl(jpeg);
  };

  console.log(
    `edge ingest bench: ${jpeg.length} B JPEG 1700×1200 (2.04 MP), ${SECONDS} s per point, sharp concurrency ${sharp.concurrency()}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`,
  );
  await measure(2, 1, alone); // warm-up: JIT, libvips, S3/SQS connections
  await measure(2, 1, upload);
  const rows: string[][] = [
    ['conc', 'sharp-alone/s', 'p50 ms', 'p99 ms', 'edge uploads/s', 'p50 ms', 'p99 ms', 'ratio'],
  ];
  for (const c of CONCURRENCIES) {
    const a = await measure(c, SECONDS, alone);
    const e = await measure(c, SECONDS, upload);
    rows.push([
      String(c),
      a.perSecond.toFixed(1),
      a.p50.toFixed(1),
      a.p99.toFixed(1),
      e.perSecond.toFixed(1),
      e.p50.toFixed(1),
      e.p99.toFixed(1),
      (e.perSecond / a.perSecond).toFixed(2),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i]!)).join('  '));
  console.log('ratio = edge uploads/s ÷ sharp-alone preprocess/s at the same concurrency (goal ≥ 0.9)');
  // For scale: the Workers (WebAssembly) image path on the same image, one at a time, in this Node process.
  const wasm = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules());
  const limits = { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, maxSide: 16_384 };
  await measure(1, 1, async () => void (await wasm.prepare(jpeg, limits)));
  const w = await measure(1, SECONDS, async () => void (await wasm.prepare(jpeg, limits)));
  console.log(
    `Workers WASM path alone (Node, 1 in flight): ${w.perSecond.toFixed(1)}/s, p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms`,
  );
  await server.close();
  services.kill('SIGTERM');
}

await main();
