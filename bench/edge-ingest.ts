/**
 * Edge ingest benchmark (`npm run bench:edge`): a ~2 MP JPEG uploaded end to end (HTTP multipart → sharp
 * preprocessing → S3 input + job record → SQS message) at concurrencies 1, 4 and 16, beside sharp-alone
 * preprocessing of the same image measured in the same run. The edge, the load generator and the S3/SQS servers
 * each run in their own process, so the figure that matters is the edge's own CPU: CPU time of the edge process per
 * accepted upload ÷ CPU time of sharp alone per image (goal ≤ 1.15). Throughput is printed too, but on a small
 * machine it also measures the other processes' share of the cores. Then the model-input PNG at several
 * compression levels: CPU to write and store it (edge), to fetch and decode it (worker), and its size.
 * The edge process also serves a second edge whose image step returns a model input prepared earlier: its CPU per
 * upload is everything the edge does besides the image work. BENCH_SECONDS (default 3) bounds each measurement; the
 * whole run takes ~13 × that. BENCH_EDGE_CPU_PROF=<dir>
 * runs the edge process under `node --cpu-prof` and writes its profile (open it in Chrome DevTools) into <dir>.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadWasmCodecModulesFromNodeModules } from '../edge/image/node-wasm-modules.ts';
import { WasmImageProcessor } from '../edge/image/wasm-image-processor.ts';
import { decode448 } from '../gpu-worker/yi-vl/preprocess/decode.ts';
import { createS3Client, S3ObjectStore } from '../shared/aws/s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from '../shared/aws/sqs-job-queue.ts';
import { apiKeyEntry } from '../shared/config/api-keys.ts';
import { MODEL_INPUT_PNG_LEVEL } from '../shared/image/model-input-png.ts';
import { decodeRgbWithSharp, preprocessForYiVl } from '../shared/image/sharp-preprocess.ts';
import { padAndResize, YI_VL_SIZE } from '../shared/image/yi-vl-resize.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONCURRENCIES = [1, 4, 16];
const PNG_LEVELS = [0, 1, 2, 6, 9];
const PROFILE_DIR = process.env.BENCH_EDGE_CPU_PROF;
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

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/** CPU milliseconds this process spends per call of `op` (one at a time, after a warm-up). */
async function cpuPerCall(op: () => Promise<unknown>, seconds = Math.max(1, SECONDS / 3)): Promise<number> {
  for (let i = 0; i < 3; i++) await op();
  const before = process.cpuUsage();
  const r = await measure(1, seconds, async () => void (await op()));
  return cpuMs(process.cpuUsage(before)) / r.count;
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

async function startChild(
  script: string,
  env: Record<string, string>,
  ipc = false,
  nodeFlags: string[] = [],
): Promise<[ChildProcess, string]> {
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
    },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return [child, line];
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((v, i) => v.padStart(widths[i]!)).join('  '));
}

async function main(): Promise<void> {
  const jpeg = await photoLikeJpeg(1700, 1200);
  const [services, servicesLine] = await startChild('./support-local-services.ts', {});
  const awsEnv = JSON.parse(servicesLine) as Record<string, string>;
  const [edge, edgeLine] = await startChild(
    './support-edge-process.ts',
    {
      ...awsEnv,
      API_KEYS: await apiKeyEntry('key_bench', 'bench', KEY),
      WEBHOOK_SIGNING_KEY: 'bench-signing-key-0123456789abcdef',
      LOG_LEVEL: 'warn',
      PORT: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_QUEUE_DEPTH: '0',
      MAX_CONCURRENT_UPLOADS: '0',
    },
    true,
    PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [],
  );
  const { url, noImageWorkUrl } = JSON.parse(edgeLine) as { url: string; noImageWorkUrl: string };
  const edgeCpu = async (): Promise<NodeJS.CpuUsage> => {
    edge.send('cpu');
    const [msg] = (await once(edge, 'message')) as [{ cpu: NodeJS.CpuUsage }];
    return msg.cpu;
  };

  const form = new FormData();
  form.set('prompt', 'Describe the image.');
  form.set('image', new Blob([jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'photo.jpg');
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type')!;
  const body = new Uint8Array(await encoded.arrayBuffer());

  const uploadTo = (base: string) => async () => {
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': contentType },
      body,
    });
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  const upload = uploadTo(url);
  const uploadNoImageWork = uploadTo(noImageWorkUrl);
  const alone = async () => {
    await preprocessForYiVl(jpeg);
  };

  console.log(
    `edge ingest bench: ${jpeg.length} B JPEG 1700×1200 (2.04 MP), ${SECONDS} s per point, sharp concurrency ${sharp.concurrency()}, ` +
      `UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}, model-input PNG level ${MODEL_INPUT_PNG_LEVEL}; ` +
      'edge, load generator and S3/SQS servers in separate processes',
  );
  await measure(2, 1, alone); // warm-up: JIT, libvips, S3/SQS connections
  await measure(2, 1, upload);
  await measure(2, 1, uploadNoImageWork);
  /** The edge process's CPU ms per upload while `op` runs from `c` loops. */
  const edgeCpuPerUpload = async (c: number, op: () => Promise<void>): Promise<[Result, number]> => {
    const before = await edgeCpu();
    const r = await measure(c, SECONDS, op);
    const after = await edgeCpu();
    return [r, cpuMs({ user: after.user - before.user, system: after.system - before.system }) / r.count];
  };
  const jpegBase64 = Buffer.from(jpeg).toString('base64');
  /** Sharp alone run inside the idle edge process: its CPU ms per image there. */
  const edgeSharpAlone = async (concurrency: number): Promise<number> => {
    edge.send({ alone: { jpeg: jpegBase64, concurrency, seconds: SECONDS } });
    const [msg] = (await once(edge, 'message')) as [{ aloneMs: number }];
    return msg.aloneMs;
  };
  const rows: string[][] = [
    [
      'conc',
      'sharp-alone/s',
      'edge uploads/s',
      'p50 ms',
      'p99 ms',
      'ratio/s',
      'sharp CPU ms/img',
      'edge CPU ms/upload',
      'CPU ratio',
      'edge w/o image work',
      'image work in edge',
      'sharp alone in edge process',
    ],
  ];
  for (const c of CONCURRENCIES) {
    const cpuAlone = process.cpuUsage();
    const a = await measure(c, SECONDS, alone);
    const aloneMs = cpuMs(process.cpuUsage(cpuAlone)) / a.count;
    const [e, edgeMs] = await edgeCpuPerUpload(c, upload);
    const [, fixedMs] = await edgeCpuPerUpload(c, uploadNoImageWork);
    const inEdgeMs = await edgeSharpAlone(c);
    rows.push([
      String(c),
      a.perSecond.toFixed(1),
      e.perSecond.toFixed(1),
      e.p50.toFixed(1),
      e.p99.toFixed(1),
      (e.perSecond / a.perSecond).toFixed(2),
      aloneMs.toFixed(1),
      edgeMs.toFixed(1),
      (edgeMs / aloneMs).toFixed(2),
      fixedMs.toFixed(1),
      (edgeMs - fixedMs).toFixed(1),
      inEdgeMs.toFixed(1),
    ]);
  }
  table(rows);
  console.log(
    'CPU ratio = edge process CPU per accepted upload ÷ sharp-alone CPU per image, same file (goal ≤ 1.15); ' +
      'ratio/s = edge uploads/s ÷ sharp-alone/s (shares the cores with the load generator and the S3/SQS servers); ' +
      'edge w/o image work = the same edge process, CPU per upload when its image step returns a model input prepared ' +
      'earlier (HTTP, multipart, auth, validation, S3 puts, SQS send); image work in edge = the difference; ' +
      'sharp alone in edge process = sharp alone run inside the edge process while no upload is in flight',
  );

  // The model-input PNG: written once by the edge, read once by the worker.
  const decoded = await decodeRgbWithSharp(jpeg, 50_000_000);
  const rgb = padAndResize(decoded.rgb, decoded.width, decoded.height);
  const store = new S3ObjectStore({
    bucket: awsEnv.S3_BUCKET!,
    client: createS3Client({
      region: awsEnv.AWS_REGION!,
      endpoint: awsEnv.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      credentials: { accessKeyId: awsEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: awsEnv.AWS_SECRET_ACCESS_KEY! },
    }),
  });
  const encodePng = (level: number) =>
    sharp(rgb, { raw: { width: YI_VL_SIZE, height: YI_VL_SIZE, channels: 3 } })
      .png({ compressionLevel: level, adaptiveFiltering: false })
      .toBuffer();
  const pngRows: string[][] = [
    ['level', 'bytes', 'write ms', 'S3 put ms', 'edge ms', 'S3 get ms', 'decode ms', 'worker ms', 'edge+worker ms'],
  ];
  for (const level of PNG_LEVELS) {
    const encode = () => encodePng(level);
    const png = new Uint8Array(await encode());
    const key = `bench/png-level-${level}.png`;
    const write = await cpuPerCall(encode);
    const put = await cpuPerCall(() => store.put(key, png, { contentType: 'image/png' }));
    const get = await cpuPerCall(() => store.get(key));
    const read = await cpuPerCall(() => decode448(png));
    pngRows.push([
      `${level}${level === MODEL_INPUT_PNG_LEVEL ? ' *' : ''}`,
      String(png.length),
      write.toFixed(2),
      put.toFixed(2),
      (write + put).toFixed(2),
      get.toFixed(2),
      read.toFixed(2),
      (get + read).toFixed(2),
      (write + put + get + read).toFixed(2),
    ]);
  }
  table(pngRows);
  console.log('CPU ms per image of this process (one at a time; S3 = the SDK client side); * = MODEL_INPUT_PNG_LEVEL');

  // The edge's storage writes per upload (model input, job record, SQS send, event), with and without the clients'
  // middleware cache, alternating, 4 in flight: CPU of this process only (the servers run elsewhere).
  const credentials = { accessKeyId: awsEnv.AWS_ACCESS_KEY_ID!, secretAccessKey: awsEnv.AWS_SECRET_ACCESS_KEY! };
  const s3Client = createS3Client({
    region: awsEnv.AWS_REGION!,
    endpoint: awsEnv.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    credentials,
  });
  const sqsClient = createSqsClient({ region: awsEnv.AWS_REGION!, endpoint: awsEnv.AWS_ENDPOINT_URL_SQS, credentials });
  const writes = new S3ObjectStore({ bucket: awsEnv.S3_BUCKET!, client: s3Client });
  const queue = new SqsJobQueue(sqsClient, awsEnv.JOB_QUEUE_URL!);
  const modelInput = new Uint8Array(await encodePng(MODEL_INPUT_PNG_LEVEL));
  let written = 0;
  const storageWrites = async () => {
    const n = written++;
    await writes.put(`inputs/bench/${n}.png`, modelInput, { contentType: 'image/png' });
    await writes.put(`jobs/bench/${n}.json`, JSON.stringify({ id: n, prompt: 'Describe the image.' }), {
      ifNoneMatch: '*',
    });
    await queue.send(JSON.stringify({ job_id: n }));
    await writes.put(`events/bench/${n}.json`, JSON.stringify({ id: n, type: 'job.queued' }), { ifNoneMatch: '*' });
  };
  const storageCpu = async (cache: boolean, seconds: number): Promise<number> => {
    for (const client of [s3Client, sqsClient])
      (client.config as { cacheMiddleware?: boolean }).cacheMiddleware = cache;
    const before = process.cpuUsage();
    const r = await measure(4, seconds, storageWrites);
    return cpuMs(process.cpuUsage(before)) / r.count;
  };
  for (let i = 0; i < 2; i++) for (const cache of [true, false]) await storageCpu(cache, 1); // warm-up
  const storageRows: string[][] = [['round', 'cached middleware ms', 'per-request middleware ms']];
  for (let round = 1; round <= 3; round++) {
    const cached = await storageCpu(true, SECONDS / 2);
    const uncached = await storageCpu(false, SECONDS / 2);
    storageRows.push([String(round), cached.toFixed(2), uncached.toFixed(2)]);
  }
  table(storageRows);
  console.log(
    "CPU ms per upload of the AWS SDK clients for the edge's storage writes (3 S3 puts, 1 SQS send; 4 in flight); " +
      'the product creates its clients with cached middleware (shared/aws/client-options.ts)',
  );

  // For scale: the Workers (WebAssembly) image path on the same image, one at a time, in this Node process.
  const wasm = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules());
  const limits = { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, maxSide: 16_384 };
  await measure(1, 1, async () => void (await wasm.prepare(jpeg, limits)));
  const w = await measure(1, SECONDS, async () => void (await wasm.prepare(jpeg, limits)));
  console.log(
    `Workers WASM path alone (Node, 1 in flight): ${w.perSecond.toFixed(1)}/s, p50 ${w.p50.toFixed(1)} ms, p99 ${w.p99.toFixed(1)} ms`,
  );
  edge.kill('SIGTERM');
  services.kill('SIGTERM');
  await Promise.all([once(edge, 'exit'), once(services, 'exit')]);
}

await main();
