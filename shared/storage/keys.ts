/**
 * Object-store key layout. The record kind comes first and the tenant second, so that
 * - one lifecycle rule on `inputs/` expires every tenant's uploads without touching results or usage, and
 * - IAM policies grant each deployable only the kinds it writes (the edge never writes `usage/`).
 * Within a kind, each tenant has its own prefix; job and event ids are time-ordered, so listings are chronological.
 */
export const KEY_KINDS = [
  'inputs',
  'jobs',
  'idempotency',
  'usage',
  'events',
  'cancel',
  'batches',
  'batch-files',
] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
function seg(value: string, what: string): string {
  if (!SAFE_SEGMENT.test(value) || value.includes('..')) throw new Error(`unsafe ${what} for an object key: ${value}`);
  return value;
}

export const keys = {
  kindPrefix: (kind: KeyKind) => `${kind}/`,
  tenantPrefix: (kind: KeyKind, tenant: string) => `${kind}/${seg(tenant, 'tenant')}/`,
  /** The preprocessed 448×448 PNG the model sees. */
  modelInput: (tenant: string, jobId: string) =>
    `inputs/${seg(tenant, 'tenant')}/${seg(jobId, 'job id')}/model-input.png`,
  /** The upload as sent, for a job whose model input the worker prepares (`input.prepared_by: 'worker'`). */
  uploadedInput: (tenant: string, jobId: string) => `inputs/${seg(tenant, 'tenant')}/${seg(jobId, 'job id')}/upload`,
  job: (tenant: string, jobId: string) => `jobs/${seg(tenant, 'tenant')}/${seg(jobId, 'job id')}.json`,
  jobsPrefix: (tenant: string) => `jobs/${seg(tenant, 'tenant')}/`,
  idempotency: (tenant: string, keyHash: string) =>
    `idempotency/${seg(tenant, 'tenant')}/${seg(keyHash, 'key hash')}.json`,
  /** Usage is partitioned by UTC day so a date-range query lists only the days it needs. */
  usage: (tenant: string, day: string, jobId: string) =>
    `usage/${seg(tenant, 'tenant')}/${seg(day, 'day')}/${seg(jobId, 'job id')}.json`,
  usageDayPrefix: (tenant: string, day: string) => `usage/${seg(tenant, 'tenant')}/${seg(day, 'day')}/`,
  event: (tenant: string, eventId: string) => `events/${seg(tenant, 'tenant')}/${seg(eventId, 'event id')}.json`,
  eventsPrefix: (tenant: string) => `events/${seg(tenant, 'tenant')}/`,
  /** A cancel request marker the worker checks between generation steps without re-reading the whole record. */
  cancel: (tenant: string, jobId: string) => `cancel/${seg(tenant, 'tenant')}/${seg(jobId, 'job id')}`,
  /** The batch record (status, item states, intake progress): one object per batch, updated by CAS. */
  batch: (tenant: string, batchId: string) => `batches/${seg(tenant, 'tenant')}/${seg(batchId, 'batch id')}.json`,
  batchesPrefix: (tenant: string) => `batches/${seg(tenant, 'tenant')}/`,
  /** The validated requests, one JSON line per item with its job id (what the intake turns into jobs). */
  batchItems: (tenant: string, batchId: string) =>
    `batch-files/${seg(tenant, 'tenant')}/${seg(batchId, 'batch id')}/items.jsonl`,
  /** `[custom_id, job_id]` per item, in input order: small enough to read on every results request. */
  batchIndex: (tenant: string, batchId: string) =>
    `batch-files/${seg(tenant, 'tenant')}/${seg(batchId, 'batch id')}/index.json`,
  /** The results file, written once when the batch ends. */
  batchResults: (tenant: string, batchId: string) =>
    `batch-files/${seg(tenant, 'tenant')}/${seg(batchId, 'batch id')}/results.jsonl`,
};

/** `2026-11-27T10:00:00Z` → `2026-11-27` (UTC day of an instant). */
export function utcDay(iso: string | Date): string {
  return (typeof iso === 'string' ? new Date(iso) : iso).toISOString().slice(0, 10);
}
