import { mapLimit } from '../../shared/concurrency/map-limit.ts';
import { BATCH_ID_SOURCE } from '../../shared/ids.ts';
import { getJson, type ObjectStore } from '../../shared/ports/object-store.ts';
import { type BatchRecord, BatchRecordSchema, type BatchStatus } from '../../shared/schemas/batch.ts';
import { keys } from '../../shared/storage/keys.ts';

export interface ListBatchesQuery {
  limit: number;
  /** Batch id cursor: return batches created after this one. */
  after?: string;
  status?: readonly BatchStatus[];
}

export interface BatchPage {
  batches: BatchRecord[];
  hasMore: boolean;
  /** Pass as `after` for the next page; present when hasMore. */
  nextCursor?: string;
}

const BATCH_KEY = new RegExp(`/(${BATCH_ID_SOURCE})\\.json$`);
/** With a status filter, at most this many records are read per request; the cursor resumes the scan. */
const MAX_SCANNED = 500;

/** Oldest first, like jobs: batch ids are time-ordered and S3 lists keys in ascending order. */
export async function listBatches(store: ObjectStore, tenant: string, q: ListBatchesQuery): Promise<BatchPage> {
  const prefix = keys.batchesPrefix(tenant);
  const startAfter = q.after ? keys.batch(tenant, q.after) : undefined;
  const wanted = q.status && q.status.length > 0 ? new Set(q.status) : null;
  const batches: BatchRecord[] = [];
  let scanned = 0;
  let lastId: string | undefined;
  let token: string | undefined;
  for (;;) {
    const pageSize = wanted ? Math.min(100, MAX_SCANNED - scanned) : q.limit - batches.length;
    const page = await store.list(prefix, {
      maxKeys: pageSize,
      ...(token ? { continuationToken: token } : startAfter ? { startAfter } : {}),
    });
    const ids = page.items.map((i) => BATCH_KEY.exec(i.key)?.[1]).filter((id): id is string => Boolean(id));
    const records = await mapLimit(ids, 16, async (id) => {
      const res = await getJson(store, keys.batch(tenant, id), (v) => BatchRecordSchema.parse(v));
      return res?.value ?? null;
    });
    for (let i = 0; i < ids.length; i++) {
      const record = records[i];
      lastId = ids[i];
      scanned++;
      if (record && (!wanted || wanted.has(record.status))) batches.push(record);
      if (batches.length === q.limit) {
        const more = i < ids.length - 1 || page.continuationToken !== undefined;
        return { batches, hasMore: more, ...(more && lastId ? { nextCursor: lastId } : {}) };
      }
    }
    token = page.continuationToken;
    if (!token) return { batches, hasMore: false };
    if (scanned >= MAX_SCANNED) return { batches, hasMore: true, ...(lastId ? { nextCursor: lastId } : {}) };
  }
}
