/**
 * What must hold after a chaos run, read from the real stores and the API: one terminal state per accepted job,
 * one result and one usage record each, every terminal webhook received (or refused for good with 410), only 503
 * `dependency_unavailable` while a dependency was down, never a 500, and one job per Idempotency-Key.
 */
import {
  getJson,
  type JobRecord,
  JobRepository,
  keys,
  UsageRecordSchema,
  webhookIdFor,
} from '../../../shared/index.ts';
import { expectedAnswerHead } from '../../worker/support/scripted-analyzer.ts';
import { type Attempt, type ClientLog, type ClientSettings, replay } from './client.ts';
import type { Fault } from './schedule.ts';
import { CHAOS_TENANT, type ChaosStack } from './stack.ts';
import type { WebhookLedger } from './webhook-ledger.ts';

export const TERMINAL = new Set<JobRecord['status']>(['succeeded', 'failed', 'canceled']);

/** The webhook-id of a terminal job's final event (stable across retries and workers). */
function terminalWebhookId(job: JobRecord): string {
  const event = job.status === 'failed' ? 'job.failed' : job.status === 'canceled' ? 'job.canceled' : 'job.succeeded';
  return webhookIdFor(job, event);
}

export interface Findings {
  accepted: number;
  jobStatuses: Record<string, number>;
  retriedJobs: number;
  terminalEventsPerJob: Record<string, number>;
  usageRecords: number;
  duplicateUsage: number;
  duplicateJobIdsPerKey: number;
  orphanRecords: number;
  replays: { sent: number; sameJob: number };
  webhooks: {
    expected: number;
    received: number;
    exempt410: number;
    missing: number;
    deliveries: number;
    uniqueIds: number;
    /** Deliveries of a webhook-id that had already been accepted (the receiver drops them by webhook-id). */
    duplicatesDropped: number;
    badSignatures: number;
    /** How the receiver answered verified deliveries: 204, 500, hang, 410. */
    answers: Record<string, number>;
  };
  violations: string[];
}

/** "503 dependency_unavailable", "202", "network error". */
export function statusLabel(a: Attempt): string {
  if (a.status === 0) return 'network error';
  return a.code ? `${a.status} ${a.code}` : String(a.status);
}

/**
 * A request belongs to a fault phase if it was sent or answered in it: on a busy machine a request sent during an
 * outage may be answered (503) just after the dependency is back, and one answered during it may have been sent before.
 */
export const touched = (a: Attempt, phase: string) => a.phase === phase || a.sentIn === phase;

/** Client answers that break the contract whatever the phase. */
export function checkClientAnswers(attempts: Attempt[], dependencyPhases: Map<string, Fault>): string[] {
  const v: string[] = [];
  for (const a of attempts) {
    if (a.status === 0) v.push(`network error from the edge in phase ${a.phase}`);
    else if (a.status >= 500 && a.status !== 503) v.push(`${statusLabel(a)} in phase ${a.phase}`);
    else if (a.status === 503) {
      if (a.code !== 'dependency_unavailable' || a.contentType !== 'application/problem+json' || !a.retryAfter)
        v.push(`malformed 503 in phase ${a.phase}: ${a.code} ${a.contentType} retry-after=${a.retryAfter}`);
    }
  }
  for (const [phase, fault] of dependencyPhases) {
    const inPhase = attempts.filter((a) => touched(a, phase));
    if (inPhase.length > 0 && !inPhase.some((a) => a.status === 503))
      v.push(`no 503 seen while ${fault} (${inPhase.length} requests): the fault did not reach the client`);
  }
  return [...new Set(v)];
}

async function readJob(repo: JobRepository, id: string): Promise<JobRecord | null> {
  for (let i = 0; ; i++) {
    try {
      return (await repo.get(CHAOS_TENANT, id))?.job ?? null;
    } catch (err) {
      // A record that does not parse is never expected (the local S3 server replaces objects atomically): fail loudly.
      if (!(err instanceof SyntaxError) || i >= 3) throw new Error(`job ${id}: unreadable record`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function listAll(stack: ChaosStack, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await stack.aws.store.list(prefix, token ? { continuationToken: token } : {});
    out.push(...page.items.map((i) => i.key));
    token = page.continuationToken;
  } while (token);
  return out;
}

interface FeedEvent {
  id: string;
  type: string;
  job_id: string;
}

async function readFeed(stack: ChaosStack, apiKey: string): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  let after = '';
  for (;;) {
    const res = await fetch(`${stack.edge.url}/v1/events?limit=100${after ? `&after=${after}` : ''}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    if (res.status !== 200) throw new Error(`GET /v1/events answered ${res.status}`);
    const page = (await res.json()) as { data: FeedEvent[]; has_more: boolean; next_cursor: string | null };
    events.push(...page.data);
    if (!page.has_more || !page.next_cursor) return events;
    after = page.next_cursor;
  }
}

/** Is every accepted job terminal and every terminal webhook settled? (the run's settle condition) */
export async function settled(
  stack: ChaosStack,
  log: ClientLog,
  ledger: WebhookLedger,
  done: Set<string>,
): Promise<boolean> {
  const repo = new JobRepository(stack.aws.store);
  for (const acc of log.accepted.values())
    for (const id of acc.jobIds) {
      if (done.has(id)) continue;
      const job = await readJob(repo, id);
      if (!job || !TERMINAL.has(job.status)) return false;
      if (job.webhook && !ledger.settled(terminalWebhookId(job))) return false;
      done.add(id);
    }
  return true;
}

export async function checkOutcome(
  stack: ChaosStack,
  log: ClientLog,
  ledger: WebhookLedger,
  client: ClientSettings,
  steps: number,
): Promise<Findings> {
  const v: string[] = [];
  const repo = new JobRepository(stack.aws.store);
  const accepted = new Map<string, string>(); // job id → idempotency key
  let duplicateJobIdsPerKey = 0;
  for (const acc of log.accepted.values()) {
    if (acc.jobIds.size !== 1) {
      duplicateJobIdsPerKey++;
      v.push(`Idempotency-Key ${acc.idempotencyKey} produced ${acc.jobIds.size} job ids`);
    }
    for (const id of acc.jobIds) accepted.set(id, acc.idempotencyKey);
  }
  for (const key of log.abandoned) v.push(`client gave up on ${key} (never accepted)`);

  const feed = await readFeed(stack, client.apiKey);
  const terminalEvents = new Map<string, number>();
  for (const e of feed)
    if (['job.succeeded', 'job.failed', 'job.canceled'].includes(e.type))
      terminalEvents.set(e.job_id, (terminalEvents.get(e.job_id) ?? 0) + 1);

  const usageKeys = await listAll(stack, keys.tenantPrefix('usage', CHAOS_TENANT));
  const usageByJob = new Map<string, string[]>();
  for (const k of usageKeys) {
    const id = /\/([^/]+)\.json$/.exec(k)?.[1] ?? k;
    usageByJob.set(id, [...(usageByJob.get(id) ?? []), k]);
  }

  const jobStatuses: Record<string, number> = {};
  const terminalEventsPerJob: Record<string, number> = {};
  let retriedJobs = 0;
  let duplicateUsage = 0;
  const wh = { expected: 0, received: 0, exempt410: 0, missing: 0 };
  for (const [id, key] of accepted) {
    const job = await readJob(repo, id);
    if (!job) {
      v.push(`${id} (${key}): accepted but no job record`);
      continue;
    }
    jobStatuses[job.status] = (jobStatuses[job.status] ?? 0) + 1;
    if (job.attempts > 1) retriedJobs++;
    if (!TERMINAL.has(job.status)) {
      v.push(`${id}: stuck ${job.status} (attempts ${job.attempts})`);
      continue;
    }
    const nTerminal = terminalEvents.get(id) ?? 0;
    terminalEventsPerJob[String(nTerminal)] = (terminalEventsPerJob[String(nTerminal)] ?? 0) + 1;
    if (nTerminal !== 1) v.push(`${id}: ${nTerminal} terminal events in the feed`);

    const usage = usageByJob.get(id) ?? [];
    if (usage.length !== 1) {
      if (usage.length > 1) duplicateUsage++;
      v.push(`${id}: ${usage.length} usage records`);
    } else {
      const rec = await getJson(stack.aws.store, usage[0] as string, (x) => UsageRecordSchema.parse(x));
      if (rec?.value.status !== job.status) v.push(`${id}: usage says ${rec?.value.status}, job says ${job.status}`);
    }

    if (job.status === 'succeeded') {
      const input = await fetch(`${stack.edge.url}/v1/jobs/${id}/input`, {
        headers: { authorization: `Bearer ${client.apiKey}` },
      });
      const image = new Uint8Array(await input.arrayBuffer());
      const head = job.output?.text.split(' ')[0];
      if (input.status !== 200 || head !== expectedAnswerHead(image, job.prompt))
        v.push(`${id}: output does not match the model input (input ${input.status})`);
      if (job.output?.completion_tokens !== steps)
        v.push(`${id}: ${job.output?.completion_tokens} tokens, want ${steps}`);
    }

    if (!job.webhook) continue;
    wh.expected++;
    const wid = terminalWebhookId(job);
    const answers = ledger.answered.filter((d) => d.webhookId === wid);
    const gone = answers.find((d) => d.answer === 410);
    if (answers.some((d) => d.answer === 204)) wh.received++;
    else if (gone) {
      wh.exempt410++;
      const recorded = job.webhook_attempts.some(
        (a) => a.webhook_id === wid && a.status_code === 410 && a.outcome === 'stopped',
      );
      if (!recorded) v.push(`${id}: ${wid} answered 410 but job.webhook_attempts does not show it`);
    } else {
      wh.missing++;
      const tried = job.webhook_attempts.filter((a) => a.webhook_id === wid).map((a) => a.outcome);
      v.push(
        `${id}: terminal webhook ${wid} never accepted (${answers.length} deliveries; ` +
          `job attempts ${job.attempts}, recorded: ${tried.join(',') || 'none'})`,
      );
    }
    if (gone && answers.some((d) => d.at > gone.at)) v.push(`${id}: ${wid} delivered again after its 410`);
  }

  const jobKeys = await listAll(stack, keys.jobsPrefix(CHAOS_TENANT));
  const orphans = jobKeys.map((k) => /\/([^/]+)\.json$/.exec(k)?.[1] ?? k).filter((id) => !accepted.has(id));
  for (const id of orphans) v.push(`${id}: job record no client was given (orphan)`);

  // A good client may send an accepted request again at any time: it must get the same job back.
  let sameJob = 0;
  const accs = [...log.accepted.values()];
  for (const acc of accs) {
    const r = await replay(client, acc);
    if (r.status === 202 && r.replayed && r.id && acc.jobIds.has(r.id)) sameJob++;
    else v.push(`replay of ${acc.idempotencyKey}: ${r.status} id=${r.id} replayed=${r.replayed}`);
  }

  const uniqueIds = new Set(ledger.receiver.deliveries.map((d) => d.id)).size;
  const acceptedPerId = new Map<string, number>();
  for (const d of ledger.answered)
    if (d.answer === 204) acceptedPerId.set(d.webhookId, (acceptedPerId.get(d.webhookId) ?? 0) + 1);
  const duplicatesDropped = [...acceptedPerId.values()].reduce((sum, n) => sum + n - 1, 0);
  if (ledger.rejected > 0) v.push(`${ledger.rejected} webhook deliveries failed signature verification`);
  return {
    accepted: accepted.size,
    jobStatuses,
    retriedJobs,
    terminalEventsPerJob,
    usageRecords: usageKeys.length,
    duplicateUsage,
    duplicateJobIdsPerKey,
    orphanRecords: orphans.length,
    replays: { sent: accs.length, sameJob },
    webhooks: {
      ...wh,
      deliveries: ledger.receiver.deliveries.length,
      uniqueIds,
      duplicatesDropped,
      badSignatures: ledger.rejected,
      answers: Object.fromEntries(
        ['204', '500', 'hang', '410'].map((a) => [a, ledger.answered.filter((d) => String(d.answer) === a).length]),
      ),
    },
    violations: v,
  };
}
