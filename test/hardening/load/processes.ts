/**
 * The two child processes of a load run: the loopback S3/SQS servers (`bench/support-local-services.ts`) and the
 * edge's Node entry (`edge/adapter/node/server.ts`), so the edge's memory and CPU are its own, not the load
 * generator's. The edge's Prometheus listener is read for its memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createS3Client, S3ObjectStore } from '../../../shared/aws/s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from '../../../shared/aws/sqs-job-queue.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');

interface Child {
  child: ChildProcess;
  output(): string;
  /** Messages of the JSON log lines at warn level or above (pino: 40 and up) seen on stdout. */
  warnings(): string[];
  stop(): Promise<void>;
}

/** Spawns `node --import tsx <script>` and resolves with the first stdout line that `ready` accepts. */
async function spawnTsx(
  script: string,
  env: Record<string, string>,
  ready: (line: string) => boolean,
  timeoutMs = 60_000,
): Promise<Child & { line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000);
  };
  child.stderr!.on('data', keep);
  // A test runner that dies mid-run must not leave the edge or the emulators behind.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      process.off('exit', orphanGuard);
      r();
    }),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
  };
  const warnings: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (l) => {
    if (!l.startsWith('{')) return;
    try {
      const { level, msg } = JSON.parse(l) as { level?: unknown; msg?: unknown };
      if (typeof level === 'number' && level >= 40) warnings.push(`${level >= 50 ? 'error' : 'warn'}: ${String(msg)}`);
    } catch {
      // Not a log line.
    }
  });
  const line = await new Promise<string>((resolveLine, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    lines.on('line', (l) => {
      keep(Buffer.from(`${l}\n`));
      if (ready(l)) {
        clearTimeout(timer);
        resolveLine(l);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { child, line, output: () => output, warnings: () => warnings, stop };
}

export interface ServicesProcess {
  env: Record<string, string>;
  store: S3ObjectStore;
  jobQueue: SqsJobQueue;
  stop(): Promise<void>;
}

export async function startServicesProcess(): Promise<ServicesProcess> {
  const p = await spawnTsx('bench/support-local-services.ts', {}, (l) => l.startsWith('{'));
  const env = JSON.parse(p.line) as Record<string, string>;
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! };
  const region = env.AWS_REGION!;
  const s3Client = createS3Client({ region, endpoint: env.AWS_ENDPOINT_URL_S3!, forcePathStyle: true, credentials });
  const sqsClient = createSqsClient({ region, endpoint: env.AWS_ENDPOINT_URL_SQS!, credentials });
  return {
    env,
    store: new S3ObjectStore({ bucket: env.S3_BUCKET!, client: s3Client, conditionalWrites: 'native' }),
    jobQueue: new SqsJobQueue(sqsClient, env.JOB_QUEUE_URL!),
    async stop() {
      s3Client.destroy();
      sqsClient.destroy();
      await p.stop();
    },
  };
}

export interface EdgeMemory {
  rssBytes: number;
  heapUsedBytes: number;
}

export interface EdgeProcess {
  url: string;
  pid: number;
  memory(): Promise<EdgeMemory>;
  /** stderr and stdout so far (last 20 KB), for failure messages. */
  output(): string;
  /** The edge's warn/error log messages so far. */
  warnings(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

function gauge(metrics: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(metrics);
  if (!m) throw new Error(`metric ${name} missing from /metrics`);
  return Number(m[1]);
}

/** Starts the edge's Node server on a free port (`PORT=0`); METRICS_PORT=0 means off, so a free one is picked here. */
export async function startEdgeProcess(env: Record<string, string>): Promise<EdgeProcess> {
  const metricsPort = await freePort();
  const p = await spawnTsx(
    'edge/adapter/node/server.ts',
    { HOST: '127.0.0.1', PORT: '0', METRICS_PORT: String(metricsPort), LOG_LEVEL: 'warn', ...env },
    (l) => l.includes('"edge listening"'),
  );
  const { url } = JSON.parse(p.line) as { url: string };
  return {
    url,
    pid: p.child.pid!,
    async memory() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      const text = await res.text();
      return {
        rssBytes: gauge(text, 'process_resident_memory_bytes'),
        heapUsedBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
      };
    },
    output: p.output,
    warnings: p.warnings,
    stop: p.stop,
  };
}
