import { mapLimit } from '../../shared/concurrency/map-limit.ts';
import { getJson, type ObjectStore } from '../../shared/ports/object-store.ts';
import { type UsageRecord, UsageRecordSchema, type UsageSummary } from '../../shared/schemas/usage.ts';
import { keys } from '../../shared/storage/keys.ts';

export const MAX_USAGE_DAYS = 93;
const DAY_MS = 86_400_000;

/** Every UTC day from `from` to `to`, inclusive, as YYYY-MM-DD. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function empty(apiKeyId: string, from: string, to: string): UsageSummary {
  return {
    api_key_id: apiKeyId,
    from,
    to,
    jobs: 0,
    batch_jobs: 0,
    images: 0,
    prompt_tokens: 0,
    image_tokens: 0,
    completion_tokens: 0,
    gpu_ms: 0,
  };
}

/**
 * Sums the tenant's usage records (one per finished job, partitioned by UTC day of completion) per API key.
 * Every key in `apiKeyIds` appears, with zeros when it has no usage.
 */
export async function summarizeUsage(
  store: ObjectStore,
  tenant: string,
  from: string,
  to: string,
  apiKeyIds: readonly string[],
): Promise<UsageSummary[]> {
  const sums = new Map<string, UsageSummary>(apiKeyIds.map((id) => [id, empty(id, from, to)]));
  for (const day of daysBetween(from, to)) {
    const prefix = keys.usageDayPrefix(tenant, day);
    let token: string | undefined;
    do {
      const page = await store.list(prefix, token ? { continuationToken: token } : {});
      const records = await mapLimit(page.items, 16, async (item) => {
        const res = await getJson(store, item.key, (v) => UsageRecordSchema.parse(v));
        return res?.value ?? null;
      });
      for (const r of records) if (r && r.tenant === tenant) add(sums, r, from, to);
      token = page.continuationToken;
    } while (token);
  }
  return [...sums.values()].sort((a, b) => (a.api_key_id < b.api_key_id ? -1 : 1));
}

function add(sums: Map<string, UsageSummary>, r: UsageRecord, from: string, to: string): void {
  const s = sums.get(r.api_key_id) ?? empty(r.api_key_id, from, to);
  s.jobs += 1;
  if (r.batch_id) s.batch_jobs += 1;
  s.images += r.images;
  s.prompt_tokens += r.prompt_tokens;
  s.image_tokens += r.image_tokens;
  s.completion_tokens += r.completion_tokens;
  s.gpu_ms += r.gpu_ms;
  sums.set(r.api_key_id, s);
}
