import { getJson, type ObjectStore, PreconditionFailedError, putJson } from '../ports/object-store.ts';
import { type BatchRecord, BatchRecordSchema } from '../schemas/batch.ts';
import { keys } from '../storage/keys.ts';

export interface VersionedBatch {
  batch: BatchRecord;
  etag: string;
}

export class BatchUpdateConflictError extends Error {
  constructor(readonly batchId: string) {
    super(`batch ${batchId} kept changing under concurrent updates`);
    this.name = 'BatchUpdateConflictError';
  }
}

const parseBatch = (v: unknown) => BatchRecordSchema.parse(v);

/**
 * Batch records, written by the edge (create, cancel) and by every worker running the batch's items. A batch record
 * is hotter than a job record (each item start and end touches it), so updates retry longer, with jittered backoff.
 */
export class BatchRepository {
  constructor(private readonly store: ObjectStore) {}

  async get(tenant: string, batchId: string): Promise<VersionedBatch | null> {
    const res = await getJson(this.store, keys.batch(tenant, batchId), parseBatch);
    return res && { batch: res.value, etag: res.etag };
  }

  async create(batch: BatchRecord): Promise<VersionedBatch> {
    const valid = BatchRecordSchema.parse(batch);
    const { etag } = await putJson(this.store, keys.batch(batch.tenant, batch.id), valid, { ifNoneMatch: '*' });
    return { batch: valid, etag };
  }

  /**
   * Applies `mutate` to the freshest record until the conditional write succeeds; `mutate` edits the copy it is
   * given and returns whether it changed anything (false: nothing is written). Null when the batch does not exist.
   */
  async update(
    tenant: string,
    batchId: string,
    mutate: (batch: BatchRecord) => boolean,
    maxAttempts = 40,
  ): Promise<(VersionedBatch & { changed: boolean }) | null> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.get(tenant, batchId);
      if (!current) return null;
      const next = structuredClone(current.batch);
      if (!mutate(next)) return { ...current, changed: false };
      const valid = BatchRecordSchema.parse({ ...next, updated_at: new Date().toISOString() });
      try {
        const { etag } = await putJson(this.store, keys.batch(tenant, batchId), valid, { ifMatch: current.etag });
        return { batch: valid, etag, changed: true };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** Math.min(attempt, 6)) * Math.random()));
      }
    }
    throw new BatchUpdateConflictError(batchId);
  }
}
