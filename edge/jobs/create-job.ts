import { ProblemError } from '../../shared/errors/problem.ts';
import { newJobId } from '../../shared/ids.ts';
import { ACCEPTED_MEDIA_TYPES } from '../../shared/image/formats.ts';
import { jobInputOf } from '../../shared/image/job-input.ts';
import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import { PreconditionFailedError, putJson } from '../../shared/ports/object-store.ts';
import { type JobEvent, JobEventSchema } from '../../shared/schemas/events.ts';
import type { JobInput, JobRecord } from '../../shared/schemas/job.ts';
import { generationParamsOf } from '../../shared/schemas/job-create.ts';
import { encodeJobMessage } from '../../shared/schemas/queue-message.ts';
import { keys } from '../../shared/storage/keys.ts';
import type { Principal } from '../http/auth.ts';
import type { DeferredImage, PreparedImage } from '../image/image-processor.ts';
import { type EdgeLogger, errorSummary } from '../logger.ts';
import type { EdgeDeps } from '../ports.ts';
import { fingerprintOf } from './canonical.ts';
import { type Claim, type IdempotencyStore, idempotencyKeyHash } from './idempotency.ts';
import type { CreateRequest } from './parse-create.ts';

export interface CreateJobContext {
  deps: EdgeDeps;
  repo: JobRepository;
  idempotency: IdempotencyStore;
  log: EdgeLogger;
  now: () => Date;
}

export interface CreateJobResult {
  job: JobRecord;
  /** True when the answer is an earlier request's job (same Idempotency-Key and request). */
  replayed: boolean;
}

/**
 * Creates a job in the order input object → job record (`queued`) → idempotency record completion → queue message,
 * so every prefix of that sequence is either invisible to clients or completed by a retry with the same key.
 */
export async function createJob(
  ctx: CreateJobContext,
  principal: Principal,
  request: CreateRequest,
  idempotencyKey: string | null,
): Promise<CreateJobResult> {
  const { tenant } = principal;
  if (request.fields.webhook) await ctx.deps.checkWebhookUrl?.(request.fields.webhook);
  if (!idempotencyKey) {
    const job = await writeJob(ctx, principal, request, newJobId(ctx.now().getTime()), null);
    return { job, replayed: false };
  }

  const keyHash = await idempotencyKeyHash(principal.keyId, idempotencyKey);
  const fingerprint = await fingerprintOf(await request.fingerprintInput());
  let claim = await ctx.idempotency.claim(tenant, keyHash, fingerprint, newJobId(ctx.now().getTime()), ctx.now());

  if (claim.kind === 'complete') {
    const existing = await ctx.repo.get(tenant, claim.record.job_id);
    if (existing) {
      // The earlier request may have stopped between completing the record and sending the message: its
      // job.queued event (written right after the send) tells whether the message went out.
      if (existing.job.status === 'queued' && !(await ctx.deps.store.head(queuedEventKey(existing.job))))
        await enqueue(ctx, existing.job);
      return { job: existing.job, replayed: true };
    }
    claim = await ctx.idempotency.reclaim(tenant, claim, ctx.now());
  }
  if (claim.kind === 'resume') {
    const existing = await ctx.repo.get(tenant, claim.record.job_id);
    if (existing) {
      await finishCreate(ctx, existing.job, claim, keyHash, false);
      return { job: existing.job, replayed: true };
    }
  }
  const job = await writeJob(ctx, principal, request, claim.record.job_id, { claim, keyHash, idempotencyKey });
  return { job, replayed: false };
}

interface IdempotencyStep {
  claim: Claim;
  keyHash: string;
  idempotencyKey: string;
}

async function writeJob(
  ctx: CreateJobContext,
  principal: Principal,
  request: CreateRequest,
  jobId: string,
  idem: IdempotencyStep | null,
): Promise<JobRecord> {
  const { tenant } = principal;
  let inputKeyWritten: string | null = null;
  let job: JobRecord;
  try {
    const { input, conversation } = await resolveInput(ctx, principal, request, jobId);
    if (input.source !== 'parent') inputKeyWritten = input.key;
    const now = ctx.now();
    job = {
      object: 'job',
      id: jobId,
      tenant,
      api_key_id: principal.keyId,
      status: 'queued',
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      expires_at: new Date(now.getTime() + ctx.deps.config.QUEUE_TTL_SECONDS * 1000).toISOString(),
      prompt: request.fields.prompt,
      params: generationParamsOf(request.fields),
      input,
      conversation,
      ...(request.fields.webhook
        ? { webhook: { url: request.fields.webhook, events: request.fields.webhook_events } }
        : {}),
      webhook_attempts: [],
      attempts: 0,
      ...(request.fields.metadata ? { metadata: request.fields.metadata } : {}),
      ...(idem ? { idempotency_key: idem.idempotencyKey } : {}),
    };
    try {
      job = (await ctx.repo.create(job)).job;
    } catch (err) {
      // Only a takeover of a half-done create can meet an existing record: that record is the job.
      if (!(err instanceof PreconditionFailedError)) throw err;
      const existing = await ctx.repo.get(tenant, jobId);
      if (!existing) throw err;
      job = existing.job;
    }
  } catch (err) {
    await compensate(ctx, tenant, { jobId: null, inputKey: inputKeyWritten, idem }, err);
    throw err;
  }
  await finishCreate(ctx, job, idem?.claim ?? null, idem?.keyHash ?? null, inputKeyWritten !== null);
  return job;
}

/** Completes the idempotency record, then enqueues; undoes the visible writes when either step fails. */
async function finishCreate(
  ctx: CreateJobContext,
  job: JobRecord,
  claim: Claim | null,
  keyHash: string | null,
  ownsInput: boolean,
): Promise<void> {
  const idem = claim && keyHash ? { claim, keyHash, idempotencyKey: job.idempotency_key ?? '' } : null;
  try {
    if (claim) {
      try {
        await ctx.idempotency.complete(job.tenant, claim);
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Our lock expired and another retry took the key over; it will complete this same job.
        throw new ProblemError('idempotency_in_progress', 'A request with this Idempotency-Key is being processed.');
      }
    }
    await enqueue(ctx, job);
  } catch (err) {
    if (!(err instanceof ProblemError && err.code === 'idempotency_in_progress'))
      await compensate(
        ctx,
        job.tenant,
        { jobId: job.id, inputKey: ownsInput && job.input ? job.input.key : null, idem },
        err,
      );
    throw err;
  }
}

/**
 * The job.queued event has an id derived from the job id (same time prefix, same random part), so it sorts at the
 * job's creation time, is written at most once, and doubles as the "message was sent" marker.
 */
export function queuedEventId(jobId: string): string {
  return `evt_${jobId.slice('job_'.length)}`;
}

function queuedEventKey(job: JobRecord): string {
  return keys.event(job.tenant, queuedEventId(job.id));
}

async function enqueue(ctx: CreateJobContext, job: JobRecord): Promise<void> {
  await ctx.deps.jobQueue.send(encodeJobMessage(job.id, job.tenant));
  const event: JobEvent = JobEventSchema.parse({
    id: queuedEventId(job.id),
    type: 'job.queued',
    job_id: job.id,
    status: 'queued',
    created_at: job.created_at,
    attempt: 0,
  });
  try {
    await putJson(ctx.deps.store, queuedEventKey(job), event, { ifNoneMatch: '*' });
  } catch (err) {
    if (err instanceof PreconditionFailedError) return;
    // The job is live; a missing feed entry is not worth failing the request over.
    ctx.log.warn({ err: errorSummary(err), job_id: job.id }, 'could not append job.queued event');
  }
}

/**
 * Best-effort undo after a failed create, newest write first: job record, then the idempotency record (so a crash
 * in between leaves a record whose job is missing, which a retry recreates), then the uploaded input.
 * Client errors (4xx) only release the idempotency key: IETF and Stripe do not remember rejected requests.
 */
async function compensate(
  ctx: CreateJobContext,
  tenant: string,
  written: { jobId: string | null; inputKey: string | null; idem: IdempotencyStep | null },
  cause: unknown,
): Promise<void> {
  const steps: [string, () => Promise<void>][] = [];
  if (written.jobId) {
    const id = written.jobId;
    steps.push(['job', () => ctx.deps.store.delete(keys.job(tenant, id))]);
  }
  if (written.idem) {
    const hash = written.idem.keyHash;
    steps.push(['idempotency', () => ctx.idempotency.release(tenant, hash)]);
  }
  if (written.inputKey) {
    const key = written.inputKey;
    steps.push(['input', () => ctx.deps.store.delete(key)]);
  }
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (err) {
      ctx.log.warn({ err: errorSummary(err), what, cause: errorSummary(cause) }, 'create rollback step failed');
      return;
    }
  }
}

async function resolveInput(
  ctx: CreateJobContext,
  principal: Principal,
  request: CreateRequest,
  jobId: string,
): Promise<{ input: JobInput; conversation: JobRecord['conversation'] }> {
  const { image } = request;
  if (image.kind === 'parent') return followUp(ctx, principal.tenant, image.parentId);
  const limits = {
    maxBytes: ctx.deps.config.MAX_UPLOAD_BYTES,
    maxPixels: ctx.deps.config.MAX_PIXELS,
    maxSide: ctx.deps.config.MAX_SIDE,
  };
  let bytes: Uint8Array;
  if (image.kind === 'url') {
    if (!ctx.deps.fetchImage)
      throw new ProblemError('image_fetch_failed', 'This deployment does not fetch remote image URLs.');
    bytes = await ctx.deps.fetchImage(image.url, { maxBytes: limits.maxBytes });
  } else bytes = image.bytes;
  const prepared = await prepare(ctx, bytes, limits);
  // A processor that could not decode the upload in this runtime hands it on as sent; the worker prepares it.
  const key = prepared.png ? keys.modelInput(principal.tenant, jobId) : keys.uploadedInput(principal.tenant, jobId);
  if (prepared.png) await ctx.deps.store.put(key, prepared.png, { contentType: 'image/png' });
  else await ctx.deps.store.put(key, prepared.original, { contentType: ACCEPTED_MEDIA_TYPES[prepared.format] });
  return {
    input: {
      ...jobInputOf(image.kind, key, prepared),
      ...(prepared.png ? {} : { prepared_by: 'worker' as const }),
    },
    conversation: { root_id: jobId, history: [] },
  };
}

/** The image pipeline's own failures on an input are the input's fault: never a 5xx for a client's file. */
async function prepare(
  ctx: CreateJobContext,
  bytes: Uint8Array,
  limits: { maxBytes: number; maxPixels: number; maxSide: number },
): Promise<PreparedImage | DeferredImage> {
  try {
    return await ctx.deps.images.prepare(bytes, limits);
  } catch (err) {
    if (err instanceof ProblemError) throw err;
    ctx.log.error({ err: errorSummary(err) }, 'image processor failed unexpectedly');
    throw new ProblemError('image_corrupt', 'The image could not be decoded.');
  }
}

async function followUp(
  ctx: CreateJobContext,
  tenant: string,
  parentId: string,
): Promise<{ input: JobInput; conversation: JobRecord['conversation'] }> {
  const found = await ctx.repo.get(tenant, parentId);
  if (!found)
    throw new ProblemError('validation_failed', 'One or more fields are invalid.', {
      errors: [{ path: 'parent', message: 'no such job' }],
    });
  const parent = found.job;
  if (parent.status !== 'succeeded' || !parent.output)
    throw new ProblemError(
      'parent_not_usable',
      `The parent job is ${parent.status}; only succeeded jobs can be followed up.`,
    );
  if (!parent.input || !(await ctx.deps.store.head(parent.input.key)))
    throw new ProblemError('parent_not_usable', 'The parent job’s image is no longer stored.');
  return {
    input: { ...parent.input, source: 'parent' },
    conversation: {
      root_id: parent.conversation.root_id,
      parent_id: parent.id,
      history: [...parent.conversation.history, { question: parent.prompt, answer: parent.output.text }],
    },
  };
}
