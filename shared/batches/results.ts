import { mapLimit } from '../concurrency/map-limit.ts';
import type { JobRepository } from '../jobs/job-repository.ts';
import { getJson, type ObjectStore } from '../ports/object-store.ts';
import {
  type BatchIndex,
  BatchIndexSchema,
  type BatchRecord,
  type BatchResultLine,
  isItemEnded,
} from '../schemas/batch.ts';
import type { JobRecord, JobUsage } from '../schemas/job.ts';
import { keys } from '../storage/keys.ts';

const ZERO_USAGE: JobUsage = {
  prompt_tokens: 0,
  image_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  images: 0,
  gpu_ms: 0,
  queue_ms: 0,
};

const ENDED = { s: 'succeeded', f: 'failed', c: 'canceled' } as const;

export async function readBatchIndex(store: ObjectStore, batch: BatchRecord): Promise<BatchIndex> {
  const found = await getJson(store, keys.batchIndex(batch.tenant, batch.id), (v) => BatchIndexSchema.parse(v));
  if (!found) throw new Error(`batch ${batch.id} has no index`);
  return found.value;
}

/**
 * The result line of one ended item. The batch record's item state is authoritative for the status (an item the
 * batch's cancel ended may have no job record yet, or one its queue message has not reached); output, error and
 * usage come from the job record when it has ended too.
 */
export function resultLineOf(
  customId: string,
  jobId: string,
  state: 's' | 'f' | 'c',
  job: JobRecord | null,
): BatchResultLine {
  const ended = job && job.status !== 'queued' && job.status !== 'running' ? job : null;
  // Key order as documented: custom_id, job_id, status, output?, error?, usage.
  return {
    custom_id: customId,
    job_id: jobId,
    status: ENDED[state],
    ...(ended?.output ? { output: ended.output } : {}),
    ...(ended?.error ? { error: { code: ended.error.code, message: ended.error.message } } : {}),
    usage: ended?.usage ?? ZERO_USAGE,
  };
}

/**
 * The results of every ended item, as JSON lines in input order (each ends with `\n`). `complete` says whether every
 * item had ended when the record was read. Reads one job record per ended item, `concurrency` at a time.
 */
export async function collectResults(
  store: ObjectStore,
  repo: JobRepository,
  batch: BatchRecord,
  concurrency = 32,
): Promise<{ jsonl: string; lines: number; complete: boolean }> {
  const index = await readBatchIndex(store, batch);
  const ended: number[] = [];
  for (let i = 0; i < batch.item_states.length; i++) if (isItemEnded(batch.item_states[i]!)) ended.push(i);
  const lines = await mapLimit(ended, concurrency, async (i) => {
    const [customId, jobId] = index[i]!;
    const job = (await repo.get(batch.tenant, jobId))?.job ?? null;
    return JSON.stringify(resultLineOf(customId, jobId, batch.item_states[i] as 's' | 'f' | 'c', job));
  });
  return {
    jsonl: lines.length ? `${lines.join('\n')}\n` : '',
    lines: lines.length,
    complete: ended.length === batch.item_states.length,
  };
}
