/**
 * The chaos stack: real loopback S3 and SQS servers, the edge as a real HTTP server in this process, scripted worker
 * child processes (killable with SIGKILL), and a webhook receiver that verifies every delivery's signature.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EdgeServer, startEdgeServer } from '../../../edge/adapter/node/server.ts';
import { parseEdgeConfig } from '../../../edge/config.ts';
import { edgeEnv, KEYS, SIGNING_KEY } from '../../edge/support/edge-harness.ts';
import { type LocalAws, startLocalAws } from '../../support/local-aws.ts';
import { spawnWorker, WebhookReceiver, type WorkerProcess, workerEnv } from '../../worker/support/harness.ts';

export const CHAOS_API_KEY = KEYS.acme;
export const CHAOS_TENANT = 'acme';

export interface StackSettings {
  workers: number;
  workerConcurrency: number;
  stepMs: number;
  /** Job queue visibility (and the worker's lease); short so a killed worker's jobs come back soon. */
  visibilitySeconds: number;
  maxReceiveCount: number;
  webhookTimeoutSeconds: number;
  /** Delay of a terminal webhook's recovery copy (its enqueue failed while SQS was down); production: 60. */
  webhookRecoveryDelaySeconds: number;
  /** Lease on a webhook message beyond the POST timeout: how long a killed worker's deliveries stay stranded. */
  webhookLeaseMarginSeconds: number;
  idempotencyLockSeconds: number;
}

export interface RunningWorker {
  name: string;
  process: WorkerProcess;
  opsPort: number;
}

export interface ChaosStack {
  aws: LocalAws;
  edge: EdgeServer;
  receiver: WebhookReceiver;
  workers: RunningWorker[];
  startWorker(): Promise<RunningWorker>;
  /** Jobs the worker reports in flight (null: its ops server does not answer). */
  inFlight(w: RunningWorker): Promise<number | null>;
  killWorker(w: RunningWorker): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function startChaosStack(s: StackSettings): Promise<ChaosStack> {
  const aws = await startLocalAws({
    maxReceiveCount: s.maxReceiveCount,
    visibilityTimeoutSeconds: s.visibilitySeconds,
  });
  const edgeConfig = parseEdgeConfig(
    await edgeEnv(aws, {
      PORT: '0',
      LOG_LEVEL: process.env.CHAOS_EDGE_LOG_LEVEL ?? 'silent',
      IDEMPOTENCY_LOCK_SECONDS: String(s.idempotencyLockSeconds),
      RATE_LIMIT_PER_MINUTE: '0',
    }),
  );
  const edge = await startEdgeServer(edgeConfig);
  // The receiver verifies with the secret the API hands to this key, exactly as a customer would.
  const secretRes = await fetch(`${edge.url}/v1/webhook-secret`, {
    headers: { authorization: `Bearer ${CHAOS_API_KEY}` },
  });
  const { secret } = (await secretRes.json()) as { secret: string };
  const receiver = await WebhookReceiver.start(secret);
  const workers: RunningWorker[] = [];
  const everStarted: RunningWorker[] = [];
  let started = 0;

  const startWorker = async (): Promise<RunningWorker> => {
    const opsPort = await freePort();
    const env = workerEnv(aws, {
      WEBHOOK_SIGNING_KEY: SIGNING_KEY,
      SCRIPTED_STEP_MS: String(s.stepMs),
      WORKER_CONCURRENCY: String(s.workerConcurrency),
      JOB_VISIBILITY_TIMEOUT_SECONDS: String(s.visibilitySeconds),
      MAX_RECEIVE_COUNT: String(s.maxReceiveCount),
      WEBHOOK_TIMEOUT_SECONDS: String(s.webhookTimeoutSeconds),
      WEBHOOK_RECOVERY_DELAY_SECONDS: String(s.webhookRecoveryDelaySeconds),
      WEBHOOK_LEASE_MARGIN_SECONDS: String(s.webhookLeaseMarginSeconds),
      METRICS_PORT: String(opsPort),
    });
    const w: RunningWorker = { name: `worker-${++started}`, process: spawnWorker(env), opsPort };
    workers.push(w);
    everStarted.push(w);
    return w;
  };

  const inFlight = async (w: RunningWorker): Promise<number | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${w.opsPort}/healthz`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { jobs_in_flight?: number };
      return body.jobs_in_flight ?? 0;
    } catch {
      return null;
    }
  };

  const killWorker = async (w: RunningWorker) => {
    w.process.child.kill('SIGKILL');
    await w.process.exited;
    workers.splice(workers.indexOf(w), 1);
  };

  for (let i = 0; i < s.workers; i++) await startWorker();
  // Ready when every worker's ops server answers (tsx start-up takes a second or two).
  for (const w of workers) {
    const deadline = Date.now() + 30_000;
    while ((await inFlight(w)) === null) {
      if (Date.now() > deadline || w.process.child.exitCode !== null)
        throw new Error(`${w.name} did not start:\n${w.process.output()}`);
      await sleep(100);
    }
  }

  return {
    aws,
    edge,
    receiver,
    workers,
    startWorker,
    inFlight,
    killWorker,
    async close() {
      for (const w of [...workers]) {
        w.process.child.kill('SIGKILL');
        await w.process.exited;
      }
      // CHAOS_LOG_DIR (with WORKER_TEST_LOG_LEVEL=info) keeps each worker's log for a post-mortem.
      const logDir = process.env.CHAOS_LOG_DIR;
      if (logDir) for (const w of everStarted) await writeFile(join(logDir, `${w.name}.log`), w.process.output());
      await receiver.stop();
      await edge.close();
      await aws.close();
    },
  };
}
