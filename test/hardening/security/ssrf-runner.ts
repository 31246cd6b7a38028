/**
 * Runs every SSRF vector against the real edge app (`image_url` fetch and `webhook` check on create) and the real
 * webhook deliverer (real S3 job records, real SQS delivery queue), with a canary on loopback. Shared by the test
 * and the CLI report.
 */
import { createImageFetcher, createWebhookUrlCheck } from '../../../edge/adapter/node/build-deps.ts';
import { createApp } from '../../../edge/app.ts';
import { createLogger } from '../../../gpu-worker/ops/logger.ts';
import { WorkerMetrics } from '../../../gpu-worker/ops/metrics.ts';
import { parseQueuedDelivery, type QueuedDelivery } from '../../../gpu-worker/webhooks/delivery-message.ts';
import { WebhookDeliverer } from '../../../gpu-worker/webhooks/delivery-worker.ts';
import { JobRepository, keys } from '../../../shared/index.ts';
import { safeFetch } from '../../../shared/net/ssrf.ts';
import { type EdgeHarness, KEYS, startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { dataUrl, jpeg } from '../../edge/support/fixtures.ts';
import {
  API_KEY_ID,
  getJob,
  seedJob,
  TENANT,
  SIGNING_KEY as WORKER_SIGNING_KEY,
} from '../../worker/support/harness.ts';
import {
  type Canary,
  fakeResolver,
  REDIRECTOR_HOST,
  type Redirector,
  rebinding,
  startCanary,
  startRedirector,
} from './net-fixtures.ts';
import { directVectors, redirectVectors, type Vector } from './ssrf-vectors.ts';

export interface SsrfRow {
  surface: 'edge image_url' | 'edge webhook' | 'worker webhook';
  vector: Vector;
  /** HTTP status and problem code (edge) or the recorded attempt outcome (worker). */
  result: string;
  ok: boolean;
}

export interface SsrfReport {
  rows: SsrfRow[];
  canaryHits: string[];
  failures: string[];
}

/** Codes that count as a refusal: the address policy's, or (for odd schemes) the schema's. */
const refusedCodes = (v: Vector) =>
  v.kind === 'scheme' ? ['url_not_allowed', 'validation_failed'] : ['url_not_allowed'];

export async function runSsrfChecks(): Promise<SsrfReport> {
  const image = await jpeg(40, 30);
  const canary = await startCanary();
  const redirector = await startRedirector(image);
  const h = await startEdgeHarness({ env: { ALLOW_PRIVATE_TARGETS: REDIRECTOR_HOST, IMAGE_FETCH_TIMEOUT_MS: '3000' } });
  try {
    const rows = [...(await edgeChecks(h, canary, redirector, image)), ...(await workerChecks(h, canary, redirector))];
    const failures = rows
      .filter((r) => !r.ok)
      .map((r) => `${r.surface} ${r.vector.name} (${r.vector.url}): ${r.result}`);
    failures.push(...canary.hits.map((hit) => `canary was reached: ${hit}`));
    return { rows, canaryHits: [...canary.hits], failures };
  } finally {
    await h.close();
    await redirector.close();
    await canary.close();
  }
}

async function edgeChecks(h: EdgeHarness, canary: Canary, redirector: Redirector, image: Uint8Array) {
  const app = createApp({
    ...h.deps,
    fetchImage: createImageFetcher(h.config, { resolve: fakeResolver }),
    checkWebhookUrl: createWebhookUrlCheck(h.config, { resolve: fakeResolver }),
  });
  const create = async (body: Record<string, unknown>) => {
    const res = await app.request('/v1/jobs', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'What is this?', ...body }),
    });
    const json = (await res.json()) as { code?: string };
    return { status: res.status, code: json.code ?? '' };
  };
  const rows: SsrfRow[] = [];
  const direct = directVectors(canary.port);
  const check = async (surface: SsrfRow['surface'], vector: Vector, body: Record<string, unknown>) => {
    const { status, code } = await create(body);
    rows.push({
      surface,
      vector,
      result: `${status} ${code}`,
      ok: status === 422 && refusedCodes(vector).includes(code),
    });
  };
  for (const vector of [...direct, ...redirectVectors(redirector.base, canary.port)])
    await check('edge image_url', vector, { image_url: vector.url });
  for (const vector of direct) await check('edge webhook', vector, { image_url: dataUrl(image), webhook: vector.url });

  // The redirect refusals happened at a hop: the redirector answered every first request.
  const hops = redirector.hits.filter((hit) => hit.startsWith('GET /to')).length;
  const redirects = redirectVectors(redirector.base, canary.port).length;
  rows.push({
    surface: 'edge image_url',
    vector: { kind: 'redirect', name: 'control: every redirect reached the redirector', url: '-' },
    result: `${hops} redirect responses for ${redirects} vectors`,
    ok: hops >= redirects,
  });

  // Nothing was written for a refused create: no job record, no input, no queue message.
  const written = [
    ...(await h.aws.store.list(keys.jobsPrefix('acme'))).items.map((i) => i.key),
    ...(await h.aws.store.list('inputs/')).items.map((i) => i.key),
  ];
  const depth = await h.aws.jobQueue.depth();
  const wrote = written.length > 0 || depth.visible + depth.delayed + depth.inFlight > 0;
  rows.push({
    surface: 'edge image_url',
    vector: { kind: 'literal', name: 'nothing written after refusals', url: '-' },
    result: wrote ? `wrote ${written.join(', ')}; queue ${JSON.stringify(depth)}` : 'no job, input or message',
    ok: !wrote,
  });

  // Positive controls: the allowed host works, directly and through a redirect, so refusals mean something.
  const controls: [SsrfRow['surface'], string, Record<string, unknown>][] = [
    ['edge image_url', 'control: allowed host', { image_url: `${redirector.base}/ok.jpg` }],
    [
      'edge image_url',
      'control: redirect to allowed host',
      { image_url: `${redirector.base}/to?u=${encodeURIComponent(`${redirector.base}/ok.jpg`)}` },
    ],
    [
      'edge webhook',
      'control: allowed webhook host',
      { image_url: dataUrl(image), webhook: `${redirector.base}/hook` },
    ],
  ];
  for (const [surface, name, body] of controls) {
    const { status, code } = await create(body);
    rows.push({
      surface,
      vector: { kind: 'literal', name, url: '-' },
      result: `${status} ${code}`,
      ok: status === 202,
    });
  }
  // DNS rebinding: the name answers the allowed host once, a canary afterwards. The fetch must connect to the
  // address it checked (one lookup, 202); resolving again at connect time would land on 127.0.0.2 and fail.
  rebinding.lookups = 0;
  const port = new URL(redirector.base).port;
  const rebind = await create({ image_url: `http://rebind.example.test:${port}/ok.jpg` });
  rows.push({
    surface: 'edge image_url',
    vector: { kind: 'dns', name: 'control: DNS rebinding is pinned to the checked address', url: '-' },
    result: `${rebind.status} ${rebind.code}, ${rebinding.lookups} lookup(s)`,
    ok: rebind.status === 202 && rebinding.lookups === 1,
  });
  return rows;
}

async function workerChecks(h: EdgeHarness, canary: Canary, redirector: Redirector): Promise<SsrfRow[]> {
  const aws = h.aws;
  const config = {
    WEBHOOK_SIGNING_KEY: WORKER_SIGNING_KEY,
    ALLOW_PRIVATE_TARGETS: [REDIRECTOR_HOST],
    WEBHOOK_MAX_ATTEMPTS: 1,
    WEBHOOK_TIMEOUT_SECONDS: 3,
    WEBHOOK_RETRY_BASE_SECONDS: 1,
    WEBHOOK_RETRY_MAX_DELAY_SECONDS: 1,
  };
  const deliverer = new WebhookDeliverer({
    repo: new JobRepository(aws.store),
    webhookQueue: aws.webhookQueue,
    config,
    logger: createLogger('silent'),
    metrics: new WorkerMetrics(),
    // The production fetch, with the test DNS table.
    fetch: (url, options) => safeFetch(url, { ...options, resolve: fakeResolver }),
  });
  const cases: { vector: Vector; expect: string[] }[] = [
    ...directVectors(canary.port).map((vector) => ({ vector, expect: ['refused', 'unreadable'] })),
    // Webhooks never follow redirects: a 30x ends the webhook (`stopped`) without a second request.
    ...redirectVectors(redirector.base, canary.port)
      .slice(0, 4)
      .map((vector) => ({ vector, expect: ['stopped 30x'] })),
    {
      vector: { kind: 'literal', name: 'control: allowed webhook host', url: `${redirector.base}/hook` },
      expect: ['delivered 204'],
    },
  ];
  const pending = new Map<string, (typeof cases)[number] & { jobId: string }>();
  for (const c of cases) {
    const job = await seedJob(aws, {
      withInput: false,
      webhookUrl: c.vector.url.startsWith('http') ? c.vector.url : undefined,
    });
    const delivery: QueuedDelivery = {
      v: 1,
      webhook_id: `msg_${job.id}_succeeded`,
      tenant: TENANT,
      job_id: job.id,
      api_key_id: API_KEY_ID,
      event: 'job.succeeded',
      url: c.vector.url,
      payload: JSON.stringify({ type: 'job.succeeded', data: { id: job.id } }),
      attempt: 1,
      first_attempt_at: new Date().toISOString(),
    };
    await aws.webhookQueue.send(JSON.stringify(delivery));
    pending.set(delivery.webhook_id, { ...c, jobId: job.id });
  }
  const rows: SsrfRow[] = [];
  const outcomeOf = async (jobId: string) => {
    const a = (await getJob(aws, jobId)).webhook_attempts.at(-1);
    if (!a) return 'no attempt';
    return a.status_code
      ? `${a.outcome} ${a.status_code >= 300 && a.status_code < 400 ? '30x' : a.status_code}`
      : a.outcome;
  };
  const deadline = Date.now() + 20_000;
  while (pending.size > 0 && Date.now() < deadline) {
    const messages = await aws.webhookQueue.receive({ maxMessages: 10, waitSeconds: 1, visibilityTimeoutSeconds: 30 });
    for (const m of messages) {
      const parsed = parseQueuedDelivery(m.body);
      const id = parsed?.webhook_id ?? (JSON.parse(m.body) as { webhook_id: string }).webhook_id;
      const c = pending.get(id);
      if (!c) continue;
      pending.delete(id);
      await deliverer.handle(m);
      let result = await outcomeOf(c.jobId);
      if (!parsed && result === 'no attempt') {
        // The message schema refuses the URL: nothing is fetched and the message is left for the dead-letter queue.
        await aws.webhookQueue.delete(m.receiptHandle);
        result = 'unreadable';
      }
      rows.push({ surface: 'worker webhook', vector: c.vector, result, ok: c.expect.includes(result) });
    }
  }
  for (const c of pending.values())
    rows.push({ surface: 'worker webhook', vector: c.vector, result: 'never handled', ok: false });
  if (redirector.hits.filter((hit) => hit.startsWith('POST /to')).length !== 4)
    rows.push({
      surface: 'worker webhook',
      vector: { kind: 'redirect', name: 'one request per redirecting webhook', url: '-' },
      result: redirector.hits.join(' | '),
      ok: false,
    });
  return rows;
}

/** A markdown table: per surface and vector kind, how many were tried and refused. */
export function ssrfTable(report: SsrfReport): string {
  const groups = new Map<string, { tried: number; ok: number }>();
  for (const r of report.rows) {
    const key = `| ${r.surface} | ${r.vector.name.startsWith('control') || r.vector.name.startsWith('nothing') ? 'controls' : r.vector.kind} |`;
    const g = groups.get(key) ?? { tried: 0, ok: 0 };
    g.tried++;
    if (r.ok) g.ok++;
    groups.set(key, g);
  }
  const lines = ['| Surface | Vector kind | Tried | As expected |', '|---|---|---|---|'];
  for (const [key, g] of groups) lines.push(`${key} ${g.tried} | ${g.ok} |`);
  lines.push(`| canary (127.0.0.1, 127.0.0.2, [::1]) | hits | ${report.canaryHits.length} | must be 0 |`);
  return lines.join('\n');
}
