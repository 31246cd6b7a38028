/**
 * After the load, the job queue is drained by a real worker (in this process, scripted analyzer, the same loopback
 * S3/SQS), with a share of the accepted jobs given two messages on purpose, and every accepted job is checked for
 * what a user is promised (docs/api.md, "Delivery"): it ran once, succeeded, and has one terminal event and one usage
 * record, however many messages it had.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadWorkerConfig } from '../../../gpu-worker/config.ts';
import { startWorker } from '../../../gpu-worker/main.ts';
import { decodeJobMessage, encodeJobMessage } from '../../../shared/schemas/queue-message.ts';
import { SIGNING_KEY } from '../../edge/support/edge-harness.ts';
import { ScriptedAnalyzer } from '../../worker/support/scripted-analyzer.ts';
import type { ServicesProcess } from './processes.ts';

export interface RunAudit {
  /** Jobs given two back-to-back messages on purpose (every `DUPLICATE_EVERY`th accepted job) before the drain. */
  duplicatedOnPurpose: number;
  drainSeconds: number;
  /** Times the model ran (the scripted analyzer's calls): one per accepted job. */
  modelRuns: number;
  /** Accepted jobs that succeeded with one `running` transition, one terminal event and one usage record. */
  ranOnce: number;
  /** Messages still on the job queue when the drain stopped waiting. */
  leftOnQueue: number;
  /** `job_id: status` of accepted jobs that did not end `succeeded`. */
  notSucceeded: string[];
  /** Jobs with more than one `running` transition (`attempts`) or `job.started` event. */
  startedTwice: string[];
  /** Jobs without exactly one terminal event in the feed. */
  terminalEventsOff: string[];
  /** Jobs without exactly one usage record. */
  usageOff: string[];
  /** The worker's warn/error log lines, counted by message (reported; the invariants above are what must hold). */
  workerWarnings: Record<string, number>;
}

/** Every this-many accepted jobs gets two messages on purpose. */
export const DUPLICATE_EVERY = 5;
const WORKER_CONCURRENCY = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function listAll(services: ServicesProcess, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await services.store.list(prefix, token ? { continuationToken: token } : {});
    out.push(...page.items.map((i) => i.key));
    token = page.continuationToken;
  } while (token);
  return out;
}

async function readJson<T>(services: ServicesProcess, key: string): Promise<T | null> {
  const obj = await services.store.get(key);
  return obj ? (JSON.parse(new TextDecoder().decode(obj.body)) as T) : null;
}

const idOf = (key: string) => /([^/]+)\.json$/.exec(key)?.[1] ?? key;

/**
 * Replaces the message of each chosen job by two copies sent back to back, so that the worker tends to receive them
 * in one batch and run them at the same time (the race a duplicate meets in production: both copies find the job
 * `queued`); every other message is made visible again as it was.
 */
async function duplicateOnPurpose(services: ServicesProcess, chosen: Set<string>): Promise<void> {
  const q = services.jobQueue;
  const keep: string[] = [];
  for (let empty = 0; empty < 2; ) {
    const batch = await q.receive({ maxMessages: 10, waitSeconds: 0, visibilityTimeoutSeconds: 600 });
    if (batch.length === 0) empty++;
    for (const m of batch) {
      const { job_id, tenant } = decodeJobMessage(m.body);
      if (!chosen.delete(job_id)) {
        keep.push(m.receiptHandle);
        continue;
      }
      await q.delete(m.receiptHandle);
      await q.send(encodeJobMessage(job_id, tenant));
      await q.send(encodeJobMessage(job_id, tenant));
    }
  }
  await mapLimit(keep, 8, (r) => q.changeVisibility(r, 0));
}

/**
 * Gives the chosen jobs two messages, runs a worker until the queue is empty (or `timeoutMs` passes: a drain that
 * cannot finish is reported, not thrown), then audits every accepted job.
 */
export async function drainWithWorker(
  services: ServicesProcess,
  accepted: { jobId: string; tenant: string }[],
  timeoutMs: number,
): Promise<RunAudit> {
  const chosen = accepted.filter((_, i) => i % DUPLICATE_EVERY === 0).map((a) => a.jobId);
  await duplicateOnPurpose(services, new Set(chosen));

  const warnings: Record<string, number> = {};
  const logSink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const { level, msg } = JSON.parse(line) as { level: number; msg: string };
        const key = `${level >= 50 ? 'error' : 'warn'}: ${msg}`;
        warnings[key] = (warnings[key] ?? 0) + 1;
      }
      done();
    },
  });
  const config = loadWorkerConfig({
    ...services.env,
    WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    RECEIVE_WAIT_SECONDS: '1',
    // Runs take milliseconds; a lease far longer than any of them keeps a busy machine from lapsing one.
    JOB_VISIBILITY_TIMEOUT_SECONDS: '60',
    METRICS_PORT: '0',
    METRICS_HOST: '127.0.0.1',
    SHUTDOWN_GRACE_SECONDS: '5',
  });
  const analyzer = new ScriptedAnalyzer(1);
  const t0 = performance.now();
  const worker = await startWorker({ config, analyzer, logger: pino({ level: 'warn' }, logSink) });
  let leftOnQueue = Number.NaN;
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = await services.jobQueue.depth();
      leftOnQueue = d.visible + d.inFlight + d.delayed;
      if ((leftOnQueue === 0 && analyzer.active === 0) || Date.now() > deadline) break;
      await sleep(250);
    }
  } finally {
    await worker.stop();
  }
  const drainSeconds = (performance.now() - t0) / 1000;

  const ids = new Set(accepted.map((a) => a.jobId));
  const records = await mapLimit(accepted, 8, (a) =>
    readJson<{ status: string; attempts: number }>(services, `jobs/${a.tenant}/${a.jobId}.json`),
  );
  const events = await mapLimit(await listAll(services, 'events/'), 8, (k) =>
    readJson<{ type: string; job_id: string }>(services, k),
  );
  const count = (of: (string | undefined)[]) => {
    const m = new Map<string, number>();
    for (const id of of) if (id && ids.has(id)) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  };
  const started = count(events.map((e) => (e?.type === 'job.started' ? e.job_id : undefined)));
  const terminal = count(
    events.map((e) => (e && ['job.succeeded', 'job.failed', 'job.canceled'].includes(e.type) ? e.job_id : undefined)),
  );
  const usage = count((await listAll(services, 'usage/')).map(idOf));
  const off = (m: Map<string, number>) =>
    accepted.filter((a) => m.get(a.jobId) !== 1).map((a) => `${a.jobId} (${m.get(a.jobId) ?? 0})`);
  const jobs = accepted.map((a, i) => ({
    id: a.jobId,
    status: records[i]?.status ?? 'no record',
    attempts: records[i]?.attempts ?? 0,
    started: started.get(a.jobId) ?? 0,
    terminal: terminal.get(a.jobId) ?? 0,
    usage: usage.get(a.jobId) ?? 0,
  }));
  return {
    duplicatedOnPurpose: chosen.length,
    drainSeconds,
    modelRuns: analyzer.calls,
    ranOnce: jobs.filter(
      (j) => j.status === 'succeeded' && j.attempts === 1 && j.started === 1 && j.terminal === 1 && j.usage === 1,
    ).length,
    leftOnQueue,
    notSucceeded: jobs.filter((j) => j.status !== 'succeeded').map((j) => `${j.id}: ${j.status}`),
    startedTwice: jobs
      .filter((j) => j.attempts > 1 || j.started > 1)
      .map((j) => `${j.id} (attempts ${j.attempts}, ${j.started} job.started events)`),
    terminalEventsOff: off(terminal),
    usageOff: off(usage),
    workerWarnings: warnings,
  };
}
