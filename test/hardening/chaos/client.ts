/**
 * A well-behaved API client: uploads a real image with a webhook, and on 503, 429, 409 `idempotency_in_progress` or
 * a network error retries the same request with the same Idempotency-Key after Retry-After (or a backoff), until
 * accepted. Every answer is recorded with the phase of the fault schedule in which it arrived.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';

export interface Attempt {
  /** The schedule phase in which the answer arrived. */
  phase: string;
  /** The phase in which the request was sent (on a slow machine an answer may arrive a phase later). */
  sentIn: string;
  key: string;
  at: number;
  /** HTTP status, or 0 for a network error / timeout. */
  status: number;
  code?: string;
  contentType?: string;
  retryAfter?: string;
}

export interface Acceptance {
  client: number;
  idempotencyKey: string;
  prompt: string;
  jobIds: Set<string>;
  attempts: number;
}

export interface ClientLog {
  attempts: Attempt[];
  accepted: Map<string, Acceptance>;
  /** Keys given up on (retry budget spent); a good client would escalate these. */
  abandoned: string[];
}

export interface ClientSettings {
  baseUrl: string;
  apiKey: string;
  webhookUrl: string;
  clients: number;
  steps: number;
  /** Upper bound on one wait between retries (Retry-After is honoured up to this). */
  maxRetryWaitMs: number;
  requestTimeoutMs: number;
  /** Pause between one client's accepted job and its next. */
  thinkMs: number;
  maxAttemptsPerJob: number;
}

const RETRYABLE = new Set([0, 409, 429, 502, 503, 504]);

async function clientImage(i: number): Promise<Uint8Array> {
  const hue = (i * 67) % 256;
  return new Uint8Array(
    await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: hue, g: 90, b: 255 - hue } } })
      .png()
      .toBuffer(),
  );
}

function form(image: Uint8Array, prompt: string, webhookUrl: string): FormData {
  const f = new FormData();
  f.set('image', new Blob([image as Uint8Array<ArrayBuffer>], { type: 'image/png' }), 'chaos.png');
  f.set('prompt', prompt);
  f.set('temperature', '0');
  f.set('webhook', webhookUrl);
  return f;
}

async function readCode(res: Response): Promise<{ code?: string; id?: string }> {
  try {
    return (await res.json()) as { code?: string; id?: string };
  } catch {
    return {};
  }
}

/** POSTs one job until accepted (or the attempt budget is spent); returns the job id. */
export async function createJob(
  s: ClientSettings,
  log: ClientLog,
  phase: () => string,
  client: number,
  image: Uint8Array,
  prompt: string,
  idempotencyKey: string,
): Promise<string | null> {
  for (let attempt = 1; attempt <= s.maxAttemptsPerJob; attempt++) {
    const t0 = Date.now();
    const sentIn = phase();
    let rec: Attempt;
    let wait = Math.min(s.maxRetryWaitMs, 100 * 2 ** Math.min(attempt, 6));
    try {
      const res = await fetch(`${s.baseUrl}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.apiKey}`, 'idempotency-key': idempotencyKey },
        body: form(image, prompt, s.webhookUrl),
        signal: AbortSignal.timeout(s.requestTimeoutMs),
      });
      const body = await readCode(res);
      const retryAfter = res.headers.get('retry-after') ?? undefined;
      rec = {
        phase: phase(),
        sentIn,
        key: idempotencyKey,
        at: t0,
        status: res.status,
        contentType: res.headers.get('content-type') ?? undefined,
      };
      if (body.code) rec.code = body.code;
      if (retryAfter) {
        rec.retryAfter = retryAfter;
        wait = Math.min(s.maxRetryWaitMs, Number(retryAfter) * 1000);
      }
      log.attempts.push(rec);
      if (res.status === 202 && body.id) {
        const acc = log.accepted.get(idempotencyKey) ?? {
          client,
          idempotencyKey,
          prompt,
          jobIds: new Set<string>(),
          attempts: 0,
        };
        acc.jobIds.add(body.id);
        acc.attempts = attempt;
        log.accepted.set(idempotencyKey, acc);
        return body.id;
      }
      if (!RETRYABLE.has(res.status)) return null;
    } catch {
      log.attempts.push({ phase: phase(), sentIn, key: idempotencyKey, at: t0, status: 0 });
    }
    await sleep(wait);
  }
  log.abandoned.push(idempotencyKey);
  return null;
}

/** Runs `clients` loops creating jobs until `stop()` says so; resolves when every loop has finished its job. */
export async function runClients(
  s: ClientSettings,
  log: ClientLog,
  phase: () => string,
  stop: () => boolean,
  runId: string,
): Promise<void> {
  await Promise.all(
    Array.from({ length: s.clients }, async (_, c) => {
      const image = await clientImage(c);
      for (let n = 0; !stop(); n++) {
        const prompt = `chaos client ${c} job ${n} steps=${s.steps}`;
        await createJob(s, log, phase, c, image, prompt, `${runId}-c${c}-n${n}`);
        await sleep(s.thinkMs);
      }
    }),
  );
}

/** Sends an accepted request again: it must replay the same job (202, Idempotent-Replayed, same id). */
export async function replay(
  s: ClientSettings,
  acc: Acceptance,
): Promise<{ status: number; id?: string; replayed: boolean }> {
  const res = await fetch(`${s.baseUrl}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.apiKey}`, 'idempotency-key': acc.idempotencyKey },
    body: form(await clientImage(acc.client), acc.prompt, s.webhookUrl),
    signal: AbortSignal.timeout(s.requestTimeoutMs),
  });
  const body = await readCode(res);
  return {
    status: res.status,
    ...(body.id ? { id: body.id } : {}),
    replayed: res.headers.get('idempotent-replayed') === 'true',
  };
}
