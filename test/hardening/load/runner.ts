/**
 * The load run shared by `bench/load.ts` and the CI test: N keep-alive clients post a mix of real and hostile uploads
 * to the edge (its own child process, over loopback S3/SQS servers in another) for a warm-up and two equal halves,
 * then the run is audited against storage and the queue, and a worker drains the queue (drain.ts) so that every
 * accepted job is checked to run once. `invariantFailures` says what broke.
 */
import { queuedEventId } from '../../../edge/jobs/create-job.ts';
import { PROBLEM_CODES } from '../../../shared/errors/problem.ts';
import { decodeJobMessage } from '../../../shared/schemas/queue-message.ts';
import { apiKeysEnv, SIGNING_KEY } from '../../edge/support/edge-harness.ts';
import { drainWithWorker, type RunAudit } from './drain.ts';
import { buildLoadMix, drawRequest, type LoadMix, type LoadRequest, seededRandom } from './image-mix.ts';
import {
  type EdgeMemory,
  type EdgeProcess,
  type ServicesProcess,
  startEdgeProcess,
  startServicesProcess,
} from './processes.ts';

export interface LoadOptions {
  clients: number;
  /** Measured time, split into two equal halves (requests started in it still finish after it). */
  seconds: number;
  warmupSeconds: number;
  seed?: number;
  /** The edge's MAX_CONCURRENT_UPLOADS (default: the edge's own, 32). */
  maxConcurrentUploads?: number;
  /** Overrides of MEMORY_BOUNDS (the short CI run needs a wider RSS bound; see there). */
  memoryBounds?: Partial<MemoryBounds>;
  /** How long the worker may take to drain the queue after the load (default: DRAIN_TIMEOUT_MS for the job count). */
  drainTimeoutMs?: number;
  /** Progress lines (the CLI prints them; the test stays quiet). */
  log?: (line: string) => void;
}

type Phase = 'warmup' | 'half1' | 'half2';

interface Outcome {
  phase: Phase;
  name: string;
  hostile: boolean;
  /** 0: no HTTP answer (connection error). */
  status: number;
  code: string | null;
  ms: number;
  /** Got exactly the expected status (and problem code). */
  asExpected: boolean;
  /** An over-cap upload whose socket the edge closed while the client was still sending it (see CLOSED_WHILE_SENDING). */
  closedWhileSending: boolean;
  jobId: string | null;
  /** Answered `Idempotent-Replayed: true`. */
  replayed: boolean;
}

export interface LoadReport {
  options: LoadOptions;
  edgeEnv: Record<string, string>;
  mixShares: { hostile: number; large: number };
  /** How long the warm-up really took (at least `warmupSeconds`, longer while priming requests were under way). */
  warmupTookSeconds: number;
  measuredSeconds: number;
  requests: number;
  accepted: number;
  acceptedPerSecond: number;
  requestsPerSecond: number;
  latency: { accepted: Percentiles; rejected: Percentiles };
  byStatus: Record<string, number>;
  problemCodes: Record<string, number>;
  hostileSent: number;
  hostileAsExpected: number;
  /** Distinct hostile cases sent, of those in the mix. */
  hostileCases: { tried: number; total: number };
  /** Requests that did not get the answer they should have: `name: got status/code`, with counts. */
  unexpected: Record<string, number>;
  memory: { before: EdgeMemory; afterWarmup: EdgeMemory; mid: EdgeMemory; end: EdgeMemory };
  /** Per half: median and peak RSS, lowest heap (a post-GC floor); readings every 200 ms. */
  halves: Record<
    'half1' | 'half2',
    { rssMedian: number; rssFloor: number; rssPeak: number; heapFloor: number; samples: number }
  >;
  /** Two seconds after the last request. */
  idle: EdgeMemory;
  /** Requests under a fixed Idempotency-Key: how many keys, 202s, replays, 409s, and keys answered with >1 job. */
  idempotency: {
    keys: number;
    jobs: number;
    accepted: number;
    replayed: number;
    inProgress: number;
    splitKeys: string[];
  };
  /** The edge's warn/error log lines during the run, counted by message (none expected with healthy dependencies). */
  edgeWarnings: Record<string, number>;
  audit: Audit;
  /** The accepted jobs after a worker drained the queue (drain.ts). */
  run: RunAudit;
}

export interface Audit {
  /** Every 202 of the run, warm-up included. */
  acceptedIds: number;
  jobRecords: number;
  recordsQueued: number;
  modelInputs: number;
  queueDepth: number;
  queueMessages: number;
  /**
   * Jobs with more than one message. Not a failure: SQS delivers at least once and an idempotent replay may re-send
   * (docs/api.md, "Delivery"); what must hold is that each job runs once (`LoadReport.run`).
   */
  duplicateMessages: number;
  /** Messages naming a job no client was given. */
  strayMessages: number;
  missingRecords: string[];
  missingInputs: string[];
  missingMessages: string[];
  /** job.queued events in the tenant's feed (what a client catching up on missed webhooks reads). */
  queuedEvents: number;
  missingEvents: string[];
  /** Records or inputs whose job id no client saw accepted (a refused request that left something behind). */
  strayRecords: string[];
  strayInputs: string[];
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Edge settings for the run. The per-key rate limit (600/min) would turn the load into 429s, so it is raised out
 * of reach; the queue-depth gate stays on (with a ceiling the run cannot reach) so its SQS reading is part of the
 * load. Upload limits stay at their defaults.
 */
const EDGE_LOAD_ENV = { RATE_LIMIT_PER_MINUTE: '10000000', MAX_QUEUE_DEPTH: '10000000' };
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
/** How long a client waits after a 429 instance_busy (the edge asks for 1 s; a quarter keeps the pressure on). */
const SHED_BACKOFF_MS = 250;

const MIB = 1024 * 1024;
/**
 * Unbounded growth shows as memory still climbing in the second half after the first has warmed every cache
 * (sharp's libvips cache, malloc arenas of the decoder threads, V8's heap). A single RSS reading swings by a few
 * hundred MiB with how many camera-sized decodes (48 MB of raw pixels each for 12 MP) happen to be in flight, so each
 * half is summarised by the median of readings taken every 200 ms, and the JS heap by its lowest reading (a post-GC
 * floor). The median may rise at most 64 MiB from half 1 to half 2: at the default load (~250 uploads per 15-s half)
 * a leak of ~300 KB per upload (about one model-input PNG) exceeds that, while 15-s and 30-s halves on a shared 2-core
 * machine moved by +10 MiB. Short halves see too few big decodes for a steady median (4-s halves moved by up to
 * +61 MiB), so the CI run widens this bound and catches only gross leaks. The heap floor may rise at most 16 MiB (it
 * sits near 25 MiB; retaining request objects or bodies doubles it quickly).
 */
export const MEMORY_BOUNDS = { rssMedianRiseMaxBytes: 64 * MIB, heapFloorRiseMaxBytes: 16 * MIB };
export type MemoryBounds = typeof MEMORY_BOUNDS;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? Number.NaN };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The edge answers an upload over MAX_UPLOAD_BYTES with 413 before reading it, and its Node server (through
 * @hono/node-server) discards what still arrives for at most 500 ms, then closes the socket. A client still writing
 * the 20 MiB body by then (a busy machine is slow to) fails its write before it reads the 413: a refusal all the same
 * (the audit checks nothing was stored), counted apart from requests that got no answer.
 */
const CLOSED_WHILE_SENDING = /\((EPIPE|ECONNRESET|UND_ERR_SOCKET)\)$/;

async function send(edge: EdgeProcess, req: LoadRequest): Promise<Omit<Outcome, 'phase'>> {
  const t = performance.now();
  let status = 0;
  let code: string | null = null;
  let jobId: string | null = null;
  let replayed = false;
  try {
    const res = await fetch(`${edge.url}/v1/jobs`, {
      method: 'POST',
      headers: req.headers,
      ...(req.chunked ? { body: chunks(req.body), duplex: 'half' } : { body: req.body as Uint8Array<ArrayBuffer> }),
    } as RequestInit);
    status = res.status;
    replayed = res.headers.get('idempotent-replayed') === 'true';
    const text = await res.text();
    try {
      const json = JSON.parse(text) as { code?: unknown; id?: unknown };
      if (status === 202 && typeof json.id === 'string') jobId = json.id;
      if (status !== 202 && typeof json.code === 'string') code = json.code;
    } catch {
      // A non-JSON answer keeps code null, which never matches an expected problem.
    }
  } catch (err) {
    status = 0;
    const cause = (err as Error).cause as { code?: unknown; message?: unknown } | undefined;
    code = `fetch failed (${String(cause?.code ?? cause?.message ?? (err as Error).message)})`;
  }
  const ms = performance.now() - t;
  // A repeat of an Idempotency-Key whose first request is still being processed is told so (409), never served twice.
  const inProgress = 'idempotency-key' in req.headers && status === 409 && code === 'idempotency_in_progress';
  // Load shedding (MAX_CONCURRENT_UPLOADS) may refuse any request before its body is read; the client backs off.
  const shed = status === 429 && code === 'instance_busy';
  const answered =
    req.expect.status === 202
      ? (status === 202 && jobId !== null) || inProgress
      : status === req.expect.status && 'code' in req.expect && code === req.expect.code;
  const closedWhileSending = status === 0 && req.expect.status === 413 && CLOSED_WHILE_SENDING.test(code ?? '');
  const asExpected = shed || answered || closedWhileSending;
  return {
    name: req.name,
    hostile: req.expect.status !== 202,
    status,
    code,
    ms,
    asExpected,
    closedWhileSending,
    jobId,
    replayed,
  };
}

/** The bytes as a stream of 1 MiB chunks (fetch then sends them chunked, without a Content-Length). */
function chunks(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(c) {
      if (offset >= bytes.length) return c.close();
      c.enqueue(bytes.subarray(offset, offset + 1024 * 1024));
      offset += 1024 * 1024;
    },
  });
}

/** Lists every key under `prefix` (all pages). */
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

/**
 * How long a worker may take to drain the queue after the load: generous for a shared 2-core machine (76 jobs, 16 of
 * them with two messages, drained in 12 s on one, under load from other work), so only a drain that cannot finish
 * fails the run.
 */
export const drainTimeoutMs = (jobs: number) => 60_000 + jobs * 500;

/** Each accepted job once (idempotent replays answer with an earlier job). */
const distinctJobs = (answers: { jobId: string; tenant: string }[]) => [
  ...new Map(answers.map((a) => [a.jobId, a])).values(),
];

/**
 * Nothing lost, nothing left behind: every 202 has its record (queued), its model input and at least one queue
 * message. The messages are read (hidden meanwhile) and then made visible again for the worker's drain.
 */
async function audit(services: ServicesProcess, answers: { jobId: string; tenant: string }[]): Promise<Audit> {
  const accepted = distinctJobs(answers);
  const ids = new Set(accepted.map((a) => a.jobId));
  const recordKeys = await listAll(services, 'jobs/');
  const inputKeys = await listAll(services, 'inputs/');
  const eventIds = new Set((await listAll(services, 'events/')).map((k) => /([^/]+)\.json$/.exec(k)?.[1] ?? k));
  const recordIds = new Set(recordKeys.map((k) => /([^/]+)\.json$/.exec(k)?.[1] ?? k));
  const inputIds = new Set(inputKeys.map((k) => /^inputs\/[^/]+\/([^/]+)\/model-input\.png$/.exec(k)?.[1] ?? k));
  const statuses = await mapLimit(accepted, 8, async (a) => {
    const obj = await services.store.get(`jobs/${a.tenant}/${a.jobId}.json`);
    return obj ? (JSON.parse(new TextDecoder().decode(obj.body)) as { status?: string }).status : undefined;
  });

  const depth = await services.jobQueue.depth();
  const seen = new Map<string, number>();
  const receipts: string[] = [];
  // No worker runs yet, so every message is visible; each receive hides what it got for the rest of the audit.
  for (let empty = 0; empty < 2; ) {
    const batch = await services.jobQueue.receive({ maxMessages: 10, waitSeconds: 0, visibilityTimeoutSeconds: 600 });
    if (batch.length === 0) {
      empty++;
      continue;
    }
    for (const m of batch) {
      const { job_id } = decodeJobMessage(m.body);
      seen.set(job_id, (seen.get(job_id) ?? 0) + 1);
      receipts.push(m.receiptHandle);
    }
  }
  await mapLimit(receipts, 8, (r) => services.jobQueue.changeVisibility(r, 0));
  const missing = (have: Set<string> | Map<string, number>) => [...ids].filter((id) => !have.has(id));
  return {
    acceptedIds: ids.size,
    jobRecords: recordKeys.length,
    recordsQueued: statuses.filter((s) => s === 'queued').length,
    modelInputs: inputKeys.length,
    queueDepth: depth.visible + depth.inFlight + depth.delayed,
    queueMessages: [...seen.values()].reduce((a, b) => a + b, 0),
    duplicateMessages: [...seen.values()].filter((n) => n > 1).length,
    strayMessages: [...seen.entries()].filter(([id]) => !ids.has(id)).reduce((n, [, c]) => n + c, 0),
    missingRecords: missing(recordIds),
    missingInputs: missing(inputIds),
    missingMessages: missing(seen),
    queuedEvents: accepted.filter((a) => eventIds.has(queuedEventId(a.jobId))).length,
    missingEvents: [...ids].filter((id) => !eventIds.has(queuedEventId(id))),
    strayRecords: [...recordIds].filter((id) => !ids.has(id)),
    strayInputs: [...inputIds].filter((id) => !ids.has(id)),
  };
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  const mix: LoadMix = await buildLoadMix(MAX_UPLOAD_BYTES);
  const services = await startServicesProcess();
  let edge: EdgeProcess | null = null;
  try {
    const edgeEnv: Record<string, string> = { ...EDGE_LOAD_ENV, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) };
    if (options.maxConcurrentUploads !== undefined)
      edgeEnv.MAX_CONCURRENT_UPLOADS = String(options.maxConcurrentUploads);
    edge = await startEdgeProcess({
      ...services.env,
      ...edgeEnv,
      API_KEYS: await apiKeysEnv(),
      WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    });
    const e = edge;
    log(
      `edge pid ${e.pid} at ${e.url}; ${options.clients} clients, warm-up ≥ ${options.warmupSeconds} s (until primed) + 2 × ${options.seconds / 2} s`,
    );
    const before = await e.memory();

    const half = (options.seconds * 1000) / 2;
    const t0 = performance.now();
    // The warm-up lasts `warmupSeconds` and, past that, until every client has sent its priming requests (below).
    let warmEnd = Number.POSITIVE_INFINITY;
    let midAt = Number.POSITIVE_INFINITY;
    let endAt = Number.POSITIVE_INFINITY;
    let priming = options.clients;
    const primed = () => {
      if (--priming > 0) return;
      warmEnd = Math.max(performance.now(), t0 + options.warmupSeconds * 1000);
      midAt = warmEnd + half;
      endAt = midAt + half;
    };
    const phaseAt = (t: number): Phase => (t < warmEnd ? 'warmup' : t < midAt ? 'half1' : 'half2');

    const outcomes: Outcome[] = [];
    const accepted: { jobId: string; tenant: string }[] = [];
    const idempotency: Record<string, { jobIds: Set<string>; accepted: number; replayed: number; inProgress: number }> =
      {};
    const marks: Partial<Record<'afterWarmup' | 'mid' | 'end', EdgeMemory>> = {};
    const samples: { phase: Phase; rss: number; heap: number }[] = [];
    let running = true;
    const sampler = (async () => {
      while (running) {
        const now = performance.now();
        const m = await e.memory();
        samples.push({ phase: phaseAt(now), rss: m.rssBytes, heap: m.heapUsedBytes });
        if (!marks.afterWarmup && now >= warmEnd) marks.afterWarmup = m;
        if (!marks.mid && now >= midAt) marks.mid = m;
        await sleep(200);
      }
    })();

    await Promise.all(
      Array.from({ length: options.clients }, async (_, client) => {
        const random = seededRandom((options.seed ?? 1) * 1000 + client);
        // The warm-up opens with every hostile case once (spread over the clients), so each run checks them all, and
        // then every camera-sized photo from every client at once, the run's worst case for memory, so the halves
        // compare steady states rather than the first time N big decodes coincide. It ends once all have been sent.
        const prime =
          options.warmupSeconds > 0
            ? [
                ...mix.hostile.filter((_, i) => i % options.clients === client),
                ...mix.large.map((_, i) => mix.large[(i + client) % mix.large.length]!),
              ]
            : [];
        let primedYet = false;
        while (performance.now() < endAt) {
          if (!primedYet && prime.length === 0) {
            primedYet = true;
            primed();
          }
          const req = prime.shift() ?? drawRequest(mix, random);
          const started = performance.now();
          const o = await send(e, req);
          outcomes.push({ ...o, phase: phaseAt(started) });
          if (o.status === 429 && o.code === 'instance_busy') await sleep(SHED_BACKOFF_MS);
          if (o.jobId && req.tenant) accepted.push({ jobId: o.jobId, tenant: req.tenant });
          const key = req.headers['idempotency-key'];
          if (key) {
            const k = idempotency[key] ?? { jobIds: new Set<string>(), accepted: 0, replayed: 0, inProgress: 0 };
            idempotency[key] = k;
            if (o.jobId) k.jobIds.add(o.jobId);
            if (o.status === 202) k.accepted++;
            if (o.replayed) k.replayed++;
            if (o.status === 409) k.inProgress++;
          }
        }
      }),
    );
    // Requests under way at the end finish late: rates are over the time the measured requests really took.
    const measuredSeconds = (performance.now() - warmEnd) / 1000;
    running = false;
    await sampler;
    marks.end = await e.memory();
    await sleep(2_000);
    const idle = await e.memory();
    log(`${outcomes.length} requests sent; auditing storage and queue`);

    const measured = outcomes.filter((o) => o.phase !== 'warmup');
    const count = (keyOf: (o: Outcome) => string | null, from: Outcome[]) => {
      const out: Record<string, number> = {};
      for (const o of from) {
        const k = keyOf(o);
        if (k !== null) out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const summary = (phase: Phase) => {
      const of = samples.filter((s) => s.phase === phase);
      return {
        rssMedian: median(of.map((s) => s.rss)),
        rssPeak: Math.max(...of.map((s) => s.rss)),
        rssFloor: Math.min(...of.map((s) => s.rss)),
        heapFloor: Math.min(...of.map((s) => s.heap)),
        samples: of.length,
      };
    };
    const hostile = outcomes.filter((o) => o.hostile);
    const storageAudit = await audit(services, accepted);
    const jobs = distinctJobs(accepted);
    log(`${jobs.length} jobs accepted; a worker drains the queue`);
    const run = await drainWithWorker(services, jobs, options.drainTimeoutMs ?? drainTimeoutMs(jobs.length));
    return {
      options,
      edgeEnv,
      mixShares: { hostile: mix.hostileShare, large: mix.largeShare },
      warmupTookSeconds: (warmEnd - t0) / 1000,
      measuredSeconds,
      requests: measured.length,
      accepted: measured.filter((o) => o.status === 202).length,
      acceptedPerSecond: measured.filter((o) => o.status === 202).length / measuredSeconds,
      requestsPerSecond: measured.length / measuredSeconds,
      latency: {
        accepted: percentiles(measured.filter((o) => o.status === 202).map((o) => o.ms)),
        rejected: percentiles(measured.filter((o) => o.status !== 202).map((o) => o.ms)),
      },
      // Status, code and expectation counts cover the whole run, warm-up included: every request must be right.
      byStatus: count(
        (o) =>
          o.closedWhileSending
            ? '413 unread (socket closed while sending)'
            : o.status === 0
              ? 'no answer'
              : String(o.status),
        outcomes,
      ),
      problemCodes: count((o) => (o.status === 0 ? null : o.code), outcomes),
      hostileSent: hostile.length,
      hostileAsExpected: hostile.filter((o) => o.asExpected).length,
      hostileCases: { tried: new Set(hostile.map((o) => o.name)).size, total: mix.hostile.length },
      unexpected: count((o) => (o.asExpected ? null : `${o.name}: got ${o.status} ${o.code ?? ''}`.trim()), outcomes),
      memory: { before, afterWarmup: marks.afterWarmup ?? before, mid: marks.mid ?? before, end: marks.end },
      halves: { half1: summary('half1'), half2: summary('half2') },
      idle,
      edgeWarnings: tally(e.warnings()),
      idempotency: {
        keys: Object.keys(idempotency).length,
        jobs: sum(Object.values(idempotency).map((k) => k.jobIds.size)),
        accepted: sum(Object.values(idempotency).map((k) => k.accepted)),
        replayed: sum(Object.values(idempotency).map((k) => k.replayed)),
        inProgress: sum(Object.values(idempotency).map((k) => k.inProgress)),
        splitKeys: Object.entries(idempotency)
          .filter(([, k]) => k.jobIds.size > 1)
          .map(([key]) => key),
      },
      audit: storageAudit,
      run,
    };
  } finally {
    await edge?.stop();
    await services.stop();
  }
}

/** Each broken invariant as one line; empty when the run held. */
export function invariantFailures(r: LoadReport): string[] {
  const f: string[] = [];
  const fiveXx = Object.entries(r.byStatus).filter(([s]) => s.startsWith('5'));
  if (fiveXx.length) f.push(`5xx answers: ${fiveXx.map(([s, n]) => `${n}× ${s}`).join(', ')}`);
  if (r.byStatus['no answer']) f.push(`${r.byStatus['no answer']} requests got no HTTP answer`);
  if (Object.keys(r.unexpected).length)
    f.push(
      `requests answered wrongly: ${Object.entries(r.unexpected)
        .map(([k, n]) => `${n}× ${k}`)
        .join('; ')}`,
    );
  if (r.accepted === 0) f.push('no upload was accepted in the measured halves');
  const a = r.audit;
  if (a.missingRecords.length)
    f.push(`${a.missingRecords.length} accepted jobs have no record (${a.missingRecords[0]}…)`);
  if (a.recordsQueued !== a.acceptedIds) f.push(`${a.acceptedIds - a.recordsQueued} accepted jobs are not 'queued'`);
  if (a.missingInputs.length)
    f.push(`${a.missingInputs.length} accepted jobs have no model input (${a.missingInputs[0]}…)`);
  if (a.missingMessages.length)
    f.push(`${a.missingMessages.length} accepted jobs have no queue message (${a.missingMessages[0]}…)`);
  if (a.missingEvents.length)
    f.push(`${a.missingEvents.length} accepted jobs have no job.queued event (${a.missingEvents[0]}…)`);
  if (a.strayMessages) f.push(`${a.strayMessages} queue messages name no accepted job`);
  if (a.queueDepth !== a.queueMessages) f.push(`queue depth ${a.queueDepth} ≠ ${a.queueMessages} messages read`);
  const run = r.run;
  const some = (ids: string[]) => `${ids.length} (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''})`;
  if (run.leftOnQueue !== 0)
    f.push(`${run.leftOnQueue} messages still queued after the worker drained for ${run.drainSeconds.toFixed(0)} s`);
  if (run.notSucceeded.length) f.push(`accepted jobs that did not succeed: ${some(run.notSucceeded)}`);
  if (run.startedTwice.length) f.push(`jobs started more than once: ${some(run.startedTwice)}`);
  if (run.modelRuns !== a.acceptedIds) f.push(`the model ran ${run.modelRuns} times for ${a.acceptedIds} jobs`);
  if (run.terminalEventsOff.length) f.push(`jobs without exactly one terminal event: ${some(run.terminalEventsOff)}`);
  if (run.usageOff.length) f.push(`jobs without exactly one usage record: ${some(run.usageOff)}`);
  if (a.strayRecords.length) f.push(`${a.strayRecords.length} job records belong to no accepted request`);
  if (a.strayInputs.length) f.push(`${a.strayInputs.length} model inputs belong to no accepted request`);
  if (r.idempotency.splitKeys.length)
    f.push(`Idempotency-Keys answered with more than one job: ${r.idempotency.splitKeys.join(', ')}`);
  const warned = Object.entries(r.edgeWarnings);
  if (warned.length) f.push(`edge logged warnings/errors: ${warned.map(([m, n]) => `${n}× ${m}`).join('; ')}`);
  const { half1, half2 } = r.halves;
  const bounds = { ...MEMORY_BOUNDS, ...r.options.memoryBounds };
  const rssRise = half2.rssMedian - half1.rssMedian;
  if (!(rssRise <= bounds.rssMedianRiseMaxBytes))
    f.push(`edge RSS median rose ${mib(rssRise)} from half 1 to half 2 (bound ${mib(bounds.rssMedianRiseMaxBytes)})`);
  const heapRise = half2.heapFloor - half1.heapFloor;
  if (!(heapRise <= bounds.heapFloorRiseMaxBytes))
    f.push(`edge heap floor rose ${mib(heapRise)} from half 1 to half 2 (bound ${mib(bounds.heapFloorRiseMaxBytes)})`);
  return f;
}

const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
const signed = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '–');

/** The report as markdown, ready to paste into docs/reliability.md. */
export function formatReport(r: LoadReport, failures: string[]): string {
  const m = r.memory;
  const h = r.halves;
  const a = r.audit;
  const i = r.idempotency;
  const lines = [
    `| load run | ${r.options.clients} clients, ${r.warmupTookSeconds.toFixed(1)} s warm-up + 2 × ${r.options.seconds / 2} s, ${Math.round(r.mixShares.hostile * 100)} % hostile, ${Math.round(r.mixShares.large * 100)} % camera-sized |`,
    '|---|---|',
    `| requests (measured) | ${r.requests} in ${r.measuredSeconds.toFixed(1)} s (${r.requestsPerSecond.toFixed(1)}/s) |`,
    `| accepted/s | **${r.acceptedPerSecond.toFixed(1)}** (${r.accepted} accepted) |`,
    `| latency accepted p50 / p99 / max | ${ms(r.latency.accepted.p50)} / ${ms(r.latency.accepted.p99)} / ${ms(r.latency.accepted.max)} ms |`,
    `| latency rejected p50 / p99 / max | ${ms(r.latency.rejected.p50)} / ${ms(r.latency.rejected.p99)} / ${ms(r.latency.rejected.max)} ms |`,
    `| status counts (whole run) | ${Object.entries(r.byStatus)
      .sort()
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ')} |`,
    `| problem codes | ${Object.entries(r.problemCodes)
      .sort()
      .map(([c, n]) => `${c} (${PROBLEM_CODES[c as keyof typeof PROBLEM_CODES]?.status ?? '?'}): ${n}`)
      .join(', ')} |`,
    `| shed by MAX_CONCURRENT_UPLOADS (${r.edgeEnv.MAX_CONCURRENT_UPLOADS ?? 'default 32'}): 429 instance_busy | ${r.problemCodes.instance_busy ?? 0} |`,
    `| hostile with expected 4xx + code (or shed) | ${r.hostileAsExpected} / ${r.hostileSent} (${r.hostileCases.tried} of ${r.hostileCases.total} cases) |`,
    `| 5xx | ${Object.entries(r.byStatus)
      .filter(([s]) => s.startsWith('5'))
      .reduce((n, [, c]) => n + c, 0)} |`,
    `| edge RSS before / after warm-up / mid / end / idle 2 s later | ${[m.before, m.afterWarmup, m.mid, m.end, r.idle].map((x) => mib(x.rssBytes)).join(' / ')} |`,
    `| edge RSS median half 1 → half 2 | ${mib(h.half1.rssMedian)} → ${mib(h.half2.rssMedian)}: ${signed(h.half2.rssMedian - h.half1.rssMedian)} |`,
    `| edge RSS floor / peak half 1 → half 2 | ${mib(h.half1.rssFloor)} / ${mib(h.half1.rssPeak)} → ${mib(h.half2.rssFloor)} / ${mib(h.half2.rssPeak)} |`,
    `| edge heap used before / after warm-up / mid / end / idle | ${[m.before, m.afterWarmup, m.mid, m.end, r.idle].map((x) => mib(x.heapUsedBytes)).join(' / ')} |`,
    `| edge heap floor half 1 → half 2 | ${mib(h.half1.heapFloor)} → ${mib(h.half2.heapFloor)}: ${signed(h.half2.heapFloor - h.half1.heapFloor)} |`,
    `| jobs accepted (incl. warm-up) = records queued = model inputs = job.queued events | ${a.acceptedIds} = ${a.recordsQueued} = ${a.modelInputs} = ${a.queuedEvents} |`,
    `| queue messages (= queue depth), jobs with more than one | ${a.queueMessages} (${a.queueDepth}), ${a.duplicateMessages} |`,
    `| worker drain: jobs given two messages on purpose, seconds, model runs, jobs that succeeded once with one terminal event and one usage record | ${r.run.duplicatedOnPurpose}, ${r.run.drainSeconds.toFixed(1)} s, ${r.run.modelRuns}, ${r.run.ranOnce} / ${a.acceptedIds} |`,
    `| worker warn/error log lines | ${Object.values(r.run.workerWarnings).reduce((n, c) => n + c, 0)} |`,
    `| Idempotency-Key repeats: keys → jobs, 202 (replayed), 409 in progress | ${i.keys} → ${i.jobs}, ${i.accepted} (${i.replayed}), ${i.inProgress} |`,
    `| edge warn/error log lines | ${Object.values(r.edgeWarnings).reduce((n, c) => n + c, 0)} |`,
    `| records / inputs of refused requests | ${a.strayRecords.length} / ${a.strayInputs.length} |`,
    `| invariants | ${failures.length ? `**BROKEN**: ${failures.join('; ')}` : 'all held'} |`,
  ];
  return lines.join('\n');
}
