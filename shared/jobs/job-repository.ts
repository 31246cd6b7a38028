import { newEventId, terminalEventId } from '../ids.ts';
import { getJson, type ObjectStore, PreconditionFailedError, putJson } from '../ports/object-store.ts';
import { type JobEvent, JobEventSchema, type JobEventType } from '../schemas/events.ts';
import { isTerminal, type JobRecord, JobRecordSchema } from '../schemas/job.ts';
import { keys } from '../storage/keys.ts';

export interface VersionedJob {
  job: JobRecord;
  etag: string;
}

/** Raised when a compare-and-swap update keeps losing to concurrent writers. */
export class JobUpdateConflictError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} kept changing under concurrent updates`);
    this.name = 'JobUpdateConflictError';
  }
}

const parseJob = (v: unknown) => JobRecordSchema.parse(v);

/**
 * Job records are written by the edge (create, cancel) and the worker (run, finish). Every update is a
 * read–modify–write guarded by If-Match on the ETag read, so no writer silently overwrites another's change.
 */
export class JobRepository {
  constructor(private readonly store: ObjectStore) {}

  async get(tenant: string, jobId: string): Promise<VersionedJob | null> {
    const res = await getJson(this.store, keys.job(tenant, jobId), parseJob);
    return res && { job: res.value, etag: res.etag };
  }

  /** Writes a new record; refuses to overwrite an existing job with the same id. */
  async create(job: JobRecord): Promise<VersionedJob> {
    const valid = JobRecordSchema.parse(job);
    const { etag } = await putJson(this.store, keys.job(job.tenant, job.id), valid, { ifNoneMatch: '*' });
    return { job: valid, etag };
  }

  /**
   * Applies `mutate` to the freshest record until the conditional write succeeds. `mutate` returns the new record,
   * or `null` to leave it unchanged (e.g. the job is already terminal). Returns the stored version, or null when
   * the job does not exist.
   */
  async update(
    tenant: string,
    jobId: string,
    mutate: (job: JobRecord) => JobRecord | null,
    maxAttempts = 8,
  ): Promise<(VersionedJob & { changed: boolean }) | null> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.get(tenant, jobId);
      if (!current) return null;
      const next = mutate(structuredClone(current.job));
      if (!next) return { ...current, changed: false };
      const valid = JobRecordSchema.parse({ ...next, updated_at: new Date().toISOString() });
      try {
        const { etag } = await putJson(this.store, keys.job(tenant, jobId), valid, { ifMatch: current.etag });
        return { job: valid, etag, changed: true };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));
      }
    }
    throw new JobUpdateConflictError(jobId);
  }

  /** Appends one entry to the tenant's event feed. */
  async appendEvent(job: JobRecord, type: JobEventType, at: Date = new Date()): Promise<JobEvent> {
    const event = JobEventSchema.parse({
      id: newEventId(at.getTime()),
      type,
      job_id: job.id,
      status: job.status,
      created_at: at.toISOString(),
      attempt: job.attempts,
    });
    await putJson(this.store, keys.event(job.tenant, event.id), event);
    return event;
  }

  /**
   * Appends an ended job's `job.succeeded|failed|canceled` event under an id derived from the job, at most once. The
   * writer that ends the job calls it, and so does anyone who later finds the job ended (a redelivered message, a
   * repeated cancel): if the first writer failed between the record and the event, the event still appears, once.
   */
  async appendTerminalEvent(job: JobRecord): Promise<void> {
    if (!isTerminal(job.status) || !job.completed_at) return;
    const type: JobEventType =
      job.status === 'succeeded' ? 'job.succeeded' : job.status === 'failed' ? 'job.failed' : 'job.canceled';
    const event = JobEventSchema.parse({
      id: terminalEventId(job.id, Date.parse(job.completed_at)),
      type,
      job_id: job.id,
      status: job.status,
      created_at: job.completed_at,
      attempt: job.attempts,
    });
    try {
      await putJson(this.store, keys.event(job.tenant, event.id), event, { ifNoneMatch: '*' });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}
