/**
 * Real flows whose logs are scanned for secrets: the edge app at LOG_LEVEL=debug (creates, replays, webhook secrets,
 * bad keys, another tenant, refused and failing image URLs, S3 and SQS outages) and a real worker process at
 * LOG_LEVEL=trace delivering signed webhooks to a receiver that answers 204, 500, 410, plus a refused private target
 * and a failed job. Shared by the test and the CLI report.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOCAL_S3_CREDENTIALS } from '../../../scripts/local-services/s3-server.ts';
import type { WebhookAttempt } from '../../../shared/index.ts';
import { deriveWebhookSecret } from '../../../shared/webhooks/signing.ts';
import { type EdgeHarness, KEYS, SIGNING_KEY, startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from '../../edge/support/fixtures.ts';
import {
  API_KEY_ID,
  getJob,
  seedJob,
  spawnWorker,
  WebhookReceiver,
  SIGNING_KEY as WORKER_SIGNING_KEY,
  waitFor,
  webhookSecret,
  workerEnv,
} from '../../worker/support/harness.ts';
import { startCanary } from './net-fixtures.ts';
import { type Finding, type Secret, scanLines, toLines, webhookSecretForms } from './secret-scan.ts';

export interface LogScanReport {
  edgeLines: number;
  workerLines: number;
  secrets: number;
  findings: Finding[];
  /** Facts that show the flows really ran (statuses seen, webhook outcomes). */
  flowFailures: string[];
  statuses: number[];
  outcomes: string[];
}

const URL_PASSWORD = 'url-password-9f3a1c';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function edgeSecrets(): Promise<Secret[]> {
  const out: Secret[] = [{ label: 'WEBHOOK_SIGNING_KEY', value: SIGNING_KEY }];
  for (const [name, key] of Object.entries(KEYS)) {
    out.push({ label: `API key ${name}`, value: key }, { label: `API key hash ${name}`, value: sha(key) });
  }
  for (const id of ['key_acme', 'key_acme2', 'key_globex'])
    out.push(...webhookSecretForms(`webhook secret ${id}`, await deriveWebhookSecret(SIGNING_KEY, id)));
  out.push({ label: 'password in an image URL', value: URL_PASSWORD });
  return out;
}

const AWS_SECRET: Secret = { label: 'AWS secret access key', value: LOCAL_S3_CREDENTIALS.secretAccessKey };

async function edgeFlows(h: EdgeHarness, statuses: number[]): Promise<void> {
  const image = await jpeg(32, 24);
  const record = async (p: Promise<Response>) => {
    const res = await p;
    statuses.push(res.status);
    await res.arrayBuffer();
    return res;
  };
  const json = (body: unknown, key: string | null = KEYS.acme) =>
    h.call('/v1/jobs', {
      method: 'POST',
      key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const failing = createServer((_req, res) => res.writeHead(500).end('upstream broke'));
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  const failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/img.jpg`;
  try {
    const form = () => multipart(image, { prompt: 'What is it?', webhook: 'http://127.0.0.1:9/hooks' });
    const created = await h.call('/v1/jobs', { method: 'POST', body: form(), headers: { 'idempotency-key': 'k-1' } });
    statuses.push(created.status);
    const { id } = (await created.json()) as { id: string };
    await record(h.call('/v1/jobs', { method: 'POST', body: form(), headers: { 'idempotency-key': 'k-1' } }));
    for (const key of Object.values(KEYS)) await record(h.call('/v1/webhook-secret', { key }));
    await record(h.call(`/v1/jobs/${id}`, { key: KEYS.globex }));
    await record(h.call(`/v1/jobs/${id}`, { key: `${KEYS.acme}x` }));
    await record(h.call(`/v1/jobs/${id}`, { key: null, headers: { authorization: `Basic ${btoa(KEYS.acme2)}` } }));
    await record(h.call(`/v1/jobs/${id}`, { key: null, headers: { authorization: `Bearer ${KEYS.acme} extra` } }));
    await record(json({ prompt: 'a', image_url: `http://user:${URL_PASSWORD}@127.0.0.1:9/a.jpg` }));
    await record(json({ prompt: 'a', image_url: failingUrl }));
    await record(json({ prompt: 'a', image_url: 'http://169.254.169.254/latest/meta-data/' }));
    await record(json({ prompt: 'a', image_url: dataUrl(image), temprature: 3 }, KEYS.acme2));
    await h.aws.s3.stop();
    try {
      await record(json({ prompt: 'during S3 outage', image_url: dataUrl(image) }));
      await record(h.call(`/v1/jobs/${id}`));
      await record(h.call('/healthz', { key: null }));
    } finally {
      await h.aws.s3.start();
    }
    await h.aws.sqs.stop();
    try {
      await record(json({ prompt: 'during SQS outage', image_url: dataUrl(image) }));
    } finally {
      await h.aws.sqs.start();
    }
    await record(h.call(`/v1/jobs/${id}/cancel`, { method: 'POST', key: KEYS.acme2 }));
  } finally {
    failing.closeAllConnections();
    failing.close();
  }
}

const FINAL = new Set<WebhookAttempt['outcome']>(['delivered', 'gave_up', 'refused', 'stopped']);

async function workerFlows(h: EdgeHarness, outcomes: string[], flowFailures: string[]) {
  const aws = h.aws;
  const receiver = await WebhookReceiver.start();
  const canary = await startCanary();
  const answers = new Map<string, number>();
  receiver.respond = (d) => answers.get(d.jobId) ?? 204;
  const worker = spawnWorker(
    workerEnv(aws, {
      LOG_LEVEL: 'trace',
      WEBHOOK_MAX_ATTEMPTS: '2',
      WEBHOOK_RETRY_BASE_SECONDS: '0',
      WEBHOOK_RETRY_MAX_DELAY_SECONDS: '1',
      WORKER_CONCURRENCY: '2',
      WEBHOOK_CONCURRENCY: '4',
      SCRIPTED_STEP_MS: '5',
    }),
  );
  try {
    type Step = { prompt: string; url: string; answer?: number; want: WebhookAttempt['outcome'] };
    const plan: Step[] = [
      { prompt: 'ok', url: receiver.url, answer: 204, want: 'delivered' },
      { prompt: 'receiver broken', url: receiver.url, answer: 500, want: 'gave_up' },
      { prompt: 'receiver gone', url: receiver.url, answer: 410, want: 'stopped' },
      { prompt: 'private target', url: `http://[::1]:${canary.port}/hooks`, want: 'refused' },
      { prompt: 'fail', url: receiver.url, answer: 204, want: 'delivered' },
    ];
    const jobs: (Step & { id: string })[] = [];
    for (const p of plan) {
      const job = await seedJob(aws, { prompt: p.prompt, webhookUrl: p.url, events: ['job.succeeded', 'job.failed'] });
      if (p.answer) answers.set(job.id, p.answer);
      jobs.push({ ...p, id: job.id });
    }
    const settled = await waitFor(
      'every webhook to settle',
      async () => {
        const all = await Promise.all(jobs.map((j) => getJob(aws, j.id)));
        return all.every((j) => j.webhook_attempts.some((a) => FINAL.has(a.outcome))) ? all : null;
      },
      25_000,
      200,
    );
    for (const [i, job] of settled.entries()) {
      const outcome = job.webhook_attempts.find((a) => FINAL.has(a.outcome))?.outcome ?? 'none';
      outcomes.push(`${plan[i]!.prompt}: ${job.status}/${outcome}`);
      if (outcome !== plan[i]!.want) flowFailures.push(`${plan[i]!.prompt}: webhook ${outcome}, want ${plan[i]!.want}`);
    }
    if (receiver.rejected.length) flowFailures.push(`receiver rejected ${receiver.rejected.length} signature(s)`);
    if (canary.hits.length) flowFailures.push(`private webhook target was reached: ${canary.hits.join(', ')}`);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await receiver.stop();
    await canary.close();
  }
  const signatures = receiver.deliveries.flatMap((d) => {
    const header = String(d.headers['webhook-signature']);
    return [header, ...header.split(' ').map((s) => s.replace(/^v1,/, ''))];
  });
  const secrets: Secret[] = [
    { label: 'worker WEBHOOK_SIGNING_KEY', value: WORKER_SIGNING_KEY },
    ...webhookSecretForms(`webhook secret ${API_KEY_ID}`, await webhookSecret()),
    ...[...new Set(signatures)].map((value) => ({ label: 'webhook-signature value', value })),
  ];
  if (receiver.deliveries.length === 0) flowFailures.push('no webhook was delivered');
  return { lines: toLines([worker.output()]), secrets };
}

export async function runLogScan(): Promise<LogScanReport> {
  const h = await startEdgeHarness();
  const statuses: number[] = [];
  const outcomes: string[] = [];
  const flowFailures: string[] = [];
  try {
    await edgeFlows(h, statuses);
    const edgeLines = toLines(h.logs);
    const worker = await workerFlows(h, outcomes, flowFailures);
    const edgeS = [...(await edgeSecrets()), AWS_SECRET];
    const findings = [
      ...scanLines(edgeLines, edgeS).map((f) => ({ ...f, label: `edge: ${f.label}` })),
      ...scanLines(worker.lines, [...edgeS, ...worker.secrets]).map((f) => ({ ...f, label: `worker: ${f.label}` })),
    ];
    for (const want of [202, 401, 404, 422, 503])
      if (!statuses.includes(want)) flowFailures.push(`the edge flows never answered ${want}`);
    if (statuses.some((s) => s === 500)) flowFailures.push('the edge answered 500');
    if (worker.lines.length < 20) flowFailures.push(`only ${worker.lines.length} worker log lines`);
    return {
      edgeLines: edgeLines.length,
      workerLines: worker.lines.length,
      secrets: new Set([...edgeS, ...worker.secrets].map((s) => s.value)).size,
      findings,
      flowFailures,
      statuses,
      outcomes,
    };
  } finally {
    await h.close();
  }
}
