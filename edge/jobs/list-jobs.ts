import { mapLimit } from '../../shared/concurrency/map-limit.ts';
import { JOB_ID_SOURCE, newJobId } from '../../shared/ids.ts';
import { getJson, type ObjectStore } from '../../shared/ports/object-store.ts';
import { type JobRecord, JobRecordSchema, type JobStatus } from '../../shared/schemas/job.ts';
import { keys } from '../../shared/storage/keys.ts';

export interface ListJobsQuery {
  limit: number;
  /** Job id cursor: return jobs created after this one. */
  after?: string;
  /** Return jobs created at or after this instant. */
  createdAfter?: Date;
  status?: readonly JobStatus[];
}

export interface JobPage {
  jobs: JobRecord[];
  hasMore: boolean;
  /** Pass as `after` for the next page; present when hasMore. */
  nextCursor?: string;
}

const JOB_KEY = new RegExp(`/(${JOB_ID_SOURCE})\\.json$`);
/** With a status filter, at most this many records are read per request; the cursor resumes the scan. */
const MAX_SCANNED = 500;
const FETCH_CONCURRENCY = 16;

/**
 * Oldest first: job ids are time-ordered and S3 lists keys in ascending order, so a cursor is just the last id seen
 * (S3 cannot list backwards; `created_after` jumps straight to recent jobs).
 */
export async function listJobs(store: ObjectStore, tenant: string, q: ListJobsQuery): Promise<JobPage> {
  const prefix = keys.jobsPrefix(tenant);
  let startAfter: string | undefined;
  if (q.after) startAfter = keys.job(tenant, q.after);
  else if (q.createdAfter) startAfter = prefix + newJobId(q.createdAfter.getTime()).slice(0, 14);
  const wanted = q.status && q.status.length > 0 ? new Set(q.status) : null;
  const jobs: JobRecord[] = [];
  let scanned = 0;
  let lastId: string | undefined;
  let token: string | undefined;
  for (;;) {
    const pageSize = wanted ? Math.min(100, MAX_SCANNED - scanned) : q.limit - jobs.length;
    const page = await store.list(prefix, {
      maxKeys: pageSize,
      ...(token ? { continuationToken: token } : startAfter ? { startAfter } : {}),
    });
    const ids = page.items.map((i) => JOB_KEY.exec(i.key)?.[1]).filter((id): id is string => Boolean(id));
    const records = await mapLimit(ids, FETCH_CONCURRENCY, async (id) => {
      const res = await getJson(store, keys.job(tenant, id), (v) => JobRecordSchema.parse(v));
      return res?.value ?? null;
    });
    for (let i = 0; i < ids.length; i++) {
      const record = records[i];
      lastId = ids[i];
      scanned++;
      if (record && (!wanted || wanted.has(record.status))) jobs.push(record);
      if (jobs.length === q.limit) {
        const more = i < ids.length - 1 || page.continuationToken !== undefined;
        return { jobs, hasMore: more, ...(more && lastId ? { nextCursor: lastId } : {}) };
      }
    }
    token = page.continuationToken;
    if (!token) return { jobs, hasMore: false };
    if (scanned >= MAX_SCANNED) return { jobs, hasMore: true, ...(lastId ? { nextCursor: lastId } : {}) };
  }
}
