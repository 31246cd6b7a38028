import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import type { Analyzer } from '../../../gpu-worker/analyzer.ts';
import { loadWorkerConfig } from '../../../gpu-worker/config.ts';
import { startWorker, type WorkerHandle } from '../../../gpu-worker/main.ts';
import { createLogger } from '../../../gpu-worker/ops/logger.ts';
import {
  deriveWebhookSecret,
  encodeJobMessage,
  GenerationParamsSchema,
  type JobRecord,
  JobRepository,
  keys,
  newJobId,
  type WebhookEventType,
} from '../../../shared/index.ts';
import type { LocalAws } from '../../support/local-aws.ts';

export const TENANT = 'tenant-w';
export const API_KEY_ID = 'key_worker_test';
export const SIGNING_KEY = 'test-master-signing-key-0123456789abcdef';
export const webhookSecret = () => deriveWebhookSecret(SIGNING_KEY, API_KEY_ID);

/** Worker environment for tests: the local servers plus short timeouts so each scenario takes seconds. */
export function workerEnv(aws: LocalAws, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...aws.env,
    WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    ALLOW_PRIVATE_TARGETS: '127.0.0.1',
    LOG_LEVEL: process.env.WORKER_TEST_LOG_LEVEL ?? 'silent',
    RECEIVE_WAIT_SECONDS: '1',
    JOB_VISIBILITY_TIMEOUT_SECONDS: '3',
    RETRY_BASE_SECONDS: '1',
    RETRY_MAX_SECONDS: '2',
    CANCEL_POLL_MS: '100',
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    WEBHOOK_TIMEOUT_SECONDS: '2',
    WEBHOOK_RETRY_BASE_SECONDS: '1',
    WEBHOOK_RETRY_MAX_DELAY_SECONDS: '2',
    SHUTDOWN_GRACE_SECONDS: '5',
    ...overrides,
  };
}

export async function startTestWorker(
  aws: LocalAws,
  analyzer: Analyzer,
  overrides: Record<string, string> = {},
  clock?: () => Date,
): Promise<WorkerHandle> {
  const config = loadWorkerConfig(workerEnv(aws, overrides));
  return startWorker({ config, analyzer, logger: createLogger(config.LOG_LEVEL), ...(clock ? { clock } : {}) });
}

/** A small, fixed "model input" PNG stand-in; the scripted analyzer only hashes it. */
export const TEST_IMAGE = new TextEncoder().encode('not-really-a-png-but-fixed-bytes-for-hashing');

export interface SeedOptions {
  prompt?: string;
  webhookUrl?: string;
  events?: WebhookEventType[];
  expiresAt?: Date;
  createdAt?: Date;
  withInput?: boolean;
  image?: Uint8Array;
  params?: Partial<JobRecord['params']>;
  /** Earlier rounds (a follow-up question). */
  history?: JobRecord['conversation']['history'];
}

/** Creates a queued job the way the edge does (input object, job record, then the queue message). */
export async function seedJob(aws: LocalAws, options: SeedOptions = {}): Promise<JobRecord> {
  const created = options.createdAt ?? new Date();
  const id = newJobId(created.getTime());
  const inputKey = keys.modelInput(TENANT, id);
  const image = options.image ?? TEST_IMAGE;
  if (options.withInput !== false) await aws.store.put(inputKey, image, { contentType: 'image/png' });
  const job: JobRecord = {
    object: 'job',
    id,
    tenant: TENANT,
    api_key_id: API_KEY_ID,
    status: 'queued',
    created_at: created.toISOString(),
    updated_at: created.toISOString(),
    expires_at: (options.expiresAt ?? new Date(Date.now() + 3600_000)).toISOString(),
    prompt: options.prompt ?? 'What is in the picture?',
    params: GenerationParamsSchema.parse(options.params ?? {}),
    input: {
      source: 'upload',
      key: inputKey,
      format: 'png',
      width: 448,
      height: 448,
      bytes: image.byteLength,
      sha256: createHash('sha256').update(image).digest('hex'),
      model_width: 448,
      model_height: 448,
    },
    conversation: { root_id: id, history: options.history ?? [] },
    webhook_attempts: [],
    attempts: 0,
    ...(options.webhookUrl
      ? {
          webhook: {
            url: options.webhookUrl,
            events: options.events ?? ['job.started', 'job.succeeded', 'job.failed', 'job.canceled'],
          },
        }
      : {}),
  };
  await new JobRepository(aws.store).create(job);
  await aws.jobQueue.send(encodeJobMessage(id, TENANT));
  return job;
}

/**
 * Reads a job record. The local S3 server can serve a half-written object when a read races a write (real S3
 * cannot), so a read that does not parse is tried again.
 */
export async function getJob(aws: LocalAws, id: string): Promise<JobRecord> {
  for (let i = 0; ; i++) {
    try {
      const res = await new JobRepository(aws.store).get(TENANT, id);
      if (!res) throw new Error(`job ${id} not found`);
      return res.job;
    } catch (err) {
      if (!(err instanceof SyntaxError) || i >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const waitForStatus = (aws: LocalAws, id: string, statuses: JobRecord['status'][], timeoutMs?: number) =>
  waitFor(
    `job ${id} to reach ${statuses.join('|')}`,
    async () => {
      const job = await getJob(aws, id);
      return statuses.includes(job.status) ? job : null;
    },
    timeoutMs,
  );

export interface Delivery {
  id: string;
  type: string;
  jobId: string;
  status: string;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * A webhook receiver on loopback that verifies every request with the `standardwebhooks` library, records the
 * verified ones, and answers with `respond(delivery)` (default 204). Can be stopped and restarted on the same port.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  readonly rejected: string[] = [];
  /** The answer to a verified delivery; `'hang'` never answers (the sender's timeout must cut it). */
  respond: (d: Delivery) => number | { status: number; headers: Record<string, string> } | 'hang' = () => 204;
  private server: Server | null = null;
  port = 0;

  private constructor(private readonly verifier: Webhook) {}

  /** `secret`: the `whsec_…` secret to verify with (default: the worker tests' key). */
  static async start(secret?: string): Promise<WebhookReceiver> {
    const r = new WebhookReceiver(new Webhook(secret ?? (await webhookSecret())));
    await r.listen(0);
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async listen(port: number): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let payload: { type: string; data: { id: string; status: string } };
        try {
          payload = this.verifier.verify(body, req.headers as Record<string, string>) as typeof payload;
        } catch (err) {
          this.rejected.push(String(err));
          res.writeHead(400).end();
          return;
        }
        const d: Delivery = {
          id: String(req.headers['webhook-id']),
          type: payload.type,
          jobId: payload.data.id,
          status: payload.data.status,
          body,
          headers: req.headers,
        };
        this.deliveries.push(d);
        const answer = this.respond(d);
        if (answer === 'hang') return;
        if (typeof answer === 'number') res.writeHead(answer).end();
        else res.writeHead(answer.status, answer.headers).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  forJob(jobId: string): Delivery[] {
    return this.deliveries.filter((d) => d.jobId === jobId);
  }
}

const CHILD = fileURLToPath(new URL('./worker-child.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** Starts a real worker process (tsx) with the scripted analyzer. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}
