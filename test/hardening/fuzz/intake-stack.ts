/**
 * The edge app over real loopback S3 and SQS (the edge test harness), plus what every intake target needs: fixture
 * jobs to follow up on, a loopback image server for `image_url`, and `expectOutcome`, which checks the invariants that
 * hold for every input: never a 5xx; every 4xx a well-formed problem whose status matches its code; a 202 only when
 * the oracle allows it, and then a complete job; a rejection leaves no object and no queue message behind.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROBLEM_CODES, PROBLEM_TYPE_BASE, type ProblemCode } from '../../../shared/errors/problem.ts';
import { JobRepository } from '../../../shared/jobs/job-repository.ts';
import type { JobRecord } from '../../../shared/schemas/job.ts';
import { keys } from '../../../shared/storage/keys.ts';
import { type EdgeHarness, KEYS, startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { advance, jpeg, multipart } from '../../edge/support/fixtures.ts';
import type { Tally } from './runner.ts';

/** Small, so byte-cap rejections are cheap to provoke: body cap = this + 256 KiB of fields. */
export const MAX_UPLOAD_BYTES = 64 * 1024;
export const FIELDS_ALLOWANCE = 256 * 1024;

export type ApiKeyName = keyof typeof KEYS;
/** What the oracle expects: accepted, rejected, or either (the input's fate is not decidable without the code). */
export type Verdict = 'accept' | 'reject' | 'either';

export interface Expectation {
  verdict: Verdict;
  /** When rejected, the problem code must be one of these (any known code when absent). */
  codes?: readonly ProblemCode[];
  /** Tenant of the API key used, to find an accepted job. */
  tenant?: string;
  why?: string;
}

export interface IntakeStack {
  h: EdgeHarness;
  repo: JobRepository;
  /** A succeeded acme job with a stored input: a usable `parent`. */
  parentOk: string;
  /** A queued acme job: `parent` → 409 parent_not_usable. */
  parentQueued: string;
  /** A succeeded globex job: another tenant's, so `parent` → 422. */
  parentOtherTenant: string;
  /** A small valid JPEG. */
  image: Uint8Array;
  /** `http://127.0.0.1:<port>` serving /ok.jpg (the image), /missing (404), /text (not an image). */
  imageServer: string;
  close(): Promise<void>;
}

export async function startIntakeStack(): Promise<IntakeStack> {
  const h = await startEdgeHarness({
    env: { RATE_LIMIT_PER_MINUTE: '0', MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), LOG_LEVEL: 'info' },
  });
  const image = await jpeg(24, 16);
  const server: Server = createServer((req, res) => {
    if (req.url === '/ok.jpg') res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
    else if (req.url === '/text') res.writeHead(200, { 'content-type': 'text/plain' }).end('not an image');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const imageServer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const create = async (key: string): Promise<string> => {
    const res = await h.call('/v1/jobs', { method: 'POST', key, body: multipart(image, { prompt: 'Fixture' }) });
    assert.equal(res.status, 202, 'fixture job');
    return ((await res.json()) as { id: string }).id;
  };
  const parentOk = await create(KEYS.acme);
  await advance(h.deps.store, 'acme', parentOk, 'running');
  await advance(h.deps.store, 'acme', parentOk, 'succeeded');
  const parentQueued = await create(KEYS.acme);
  const parentOtherTenant = await create(KEYS.globex);
  await advance(h.deps.store, 'globex', parentOtherTenant, 'running');
  await advance(h.deps.store, 'globex', parentOtherTenant, 'succeeded');
  await drainQueue(h);
  return {
    h,
    repo: new JobRepository(h.deps.store),
    parentOk,
    parentQueued,
    parentOtherTenant,
    image,
    imageServer,
    async close() {
      await new Promise((r) => server.close(r));
      await h.close();
    },
  };
}

export interface Snapshot {
  keys: Set<string>;
  jobs: number;
  webhooks: number;
}

async function listAll(h: EdgeHarness): Promise<Set<string>> {
  const out = new Set<string>();
  let token: string | undefined;
  do {
    const page = await h.deps.store.list('', token ? { continuationToken: token } : {});
    for (const item of page.items) out.add(item.key);
    token = page.continuationToken;
  } while (token);
  return out;
}

async function depth(q: EdgeHarness['deps']['jobQueue']): Promise<number> {
  const d = await q.depth();
  return d.visible + d.inFlight + d.delayed;
}

export async function snapshot(h: EdgeHarness): Promise<Snapshot> {
  const [all, jobs, webhooks] = await Promise.all([listAll(h), depth(h.deps.jobQueue), depth(h.deps.webhookQueue)]);
  return { keys: all, jobs, webhooks };
}

async function drainQueue(h: EdgeHarness): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const d = await h.deps.jobQueue.depth();
    if (d.visible + d.inFlight + d.delayed === 0) return;
    const msgs = await h.deps.jobQueue.receive({ maxMessages: 10, waitSeconds: 0, visibilityTimeoutSeconds: 1 });
    for (const m of msgs) await h.deps.jobQueue.delete(m.receiptHandle);
    if (!msgs.length) await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job queue does not drain: ${JSON.stringify(await h.deps.jobQueue.depth())}`);
}

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join();

/**
 * Sends one request (the `send` callback) and checks every invariant against the oracle's expectation. Returns the
 * new job id when accepted. Objects and messages of an accepted job are removed afterwards (keeping listings cheap)
 * unless `keep` is set.
 */
export async function expectOutcome(
  stack: IntakeStack,
  tally: Tally,
  expectation: Expectation,
  send: () => Promise<Response>,
  options: { keep?: boolean; onAccepted?: (job: JobRecord) => Promise<void> } = {},
): Promise<{ status: number; jobId?: string; body: unknown; created: string[] }> {
  const before = await snapshot(stack.h);
  const res = await send();
  return judgeResponse(stack, tally, expectation, before, res, options);
}

/** The invariants of `expectOutcome` for a response obtained some other way (e.g. over a raw socket). */
export async function judgeResponse(
  stack: IntakeStack,
  tally: Tally,
  expectation: Expectation,
  before: Snapshot,
  res: Response,
  options: { keep?: boolean; onAccepted?: (job: JobRecord) => Promise<void> } = {},
): Promise<{ status: number; jobId?: string; body: unknown; created: string[] }> {
  const { h } = stack;
  const text = await res.text();
  const after = await snapshot(h);
  const created = [...after.keys].filter((k) => !before.keys.has(k));
  const why = expectation.why ? ` (${expectation.why})` : '';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`status ${res.status}: body is not JSON: ${text.slice(0, 200)}`);
  }
  const requestId = res.headers.get('request-id') ?? '';
  assert.match(requestId, /^[A-Za-z0-9._:-]{1,128}$/, 'request-id header');
  assert.ok(res.status < 500, `5xx for a client input${why}: ${res.status} ${text.slice(0, 300)}`);
  assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), PROTOTYPE_KEYS, 'Object.prototype changed');
  assert.equal(after.webhooks, before.webhooks, 'a create touched the webhook queue');

  if (res.status === 202) {
    tally.note('202');
    assert.notEqual(expectation.verdict, 'reject', `accepted an invalid request${why}`);
    const job = body as { id: string; status: string };
    const tenant = expectation.tenant ?? 'acme';
    const replayed = res.headers.get('idempotent-replayed') === 'true';
    const found = await stack.repo.get(tenant, job.id);
    assert.ok(found, `202 but no job record for ${job.id}`);
    assert.equal(found.job.status, 'queued');
    const input = await h.deps.store.head(found.job.input!.key);
    assert.ok(input, 'accepted job without a stored model input');
    if (replayed) {
      assert.deepEqual(created, [], 'a replay wrote objects');
      assert.equal(after.jobs, before.jobs, 'a replay enqueued a message');
    } else {
      assert.equal(after.jobs, before.jobs + 1, 'an accepted job must enqueue exactly one message');
      const allowed = new Set([keys.job(tenant, job.id), keys.modelInput(tenant, job.id)]);
      for (const k of created)
        assert.ok(
          allowed.has(k) || k.startsWith(`events/${tenant}/`) || k.startsWith(`idempotency/${tenant}/`),
          `unexpected object ${k} for job ${job.id}`,
        );
      assert.ok(created.includes(keys.job(tenant, job.id)), 'job record not among the new objects');
    }
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, '202 content type');
    await options.onAccepted?.(found.job);
    if (!options.keep) await discard(stack, created);
    return { status: 202, jobId: job.id, body, created };
  }

  const p = body as { type?: unknown; code?: unknown; status?: unknown; title?: unknown };
  assert.ok(res.status >= 400, `unexpected status ${res.status}${why}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json', `problem content type (${res.status})`);
  assert.ok(typeof p.code === 'string' && p.code in PROBLEM_CODES, `unknown problem code ${String(p.code)}`);
  const code = p.code as ProblemCode;
  tally.note(`${res.status} ${code}`);
  assert.equal(PROBLEM_CODES[code].status, res.status, `status ${res.status} does not match code ${code}`);
  assert.equal(p.status, res.status, 'problem.status');
  assert.equal(p.type, `${PROBLEM_TYPE_BASE}${code.replaceAll('_', '-')}`, 'problem.type');
  assert.equal(p.title, PROBLEM_CODES[code].title, 'problem.title');
  assert.notEqual(expectation.verdict, 'accept', `refused a valid request${why}: ${text.slice(0, 300)}`);
  if (expectation.codes)
    assert.ok(expectation.codes.includes(code), `code ${code}, expected one of ${expectation.codes}${why}`);
  assert.deepEqual(created, [], `a rejected request left objects behind (${code})`);
  assert.equal(after.jobs, before.jobs, `a rejected request left a queue message (${code})`);
  return { status: res.status, body, created };
}

/** For requests that got no answer from the app: nothing may have been written or enqueued since `before`. */
export async function expectNothingLeft(stack: IntakeStack, before: Snapshot, why: string): Promise<void> {
  const after = await snapshot(stack.h);
  assert.deepEqual(
    [...after.keys].filter((k) => !before.keys.has(k)),
    [],
    `objects left behind (${why})`,
  );
  assert.equal(after.jobs, before.jobs, `a queue message left behind (${why})`);
}

/** Removes an accepted job's objects and drains its queue message, so listings stay small over long runs. */
export async function discard(stack: IntakeStack, created: readonly string[]): Promise<void> {
  for (const k of created) await stack.h.deps.store.delete(k);
  await drainQueue(stack.h);
}
