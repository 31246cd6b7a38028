import { type BatchRecord, type PublicBatch, toPublicBatch } from '../../shared/schemas/batch.ts';

export interface BatchLinks {
  self: string;
  results: string;
  cancel: string;
}

export type BatchView = PublicBatch & { urls: BatchLinks };

/** The batch as the API shows it: counts instead of item states, no tenant, key id or intake progress. */
export function batchView(batch: BatchRecord, baseUrl: string): BatchView {
  const self = `${baseUrl}/v1/batches/${batch.id}`;
  return { ...toPublicBatch(batch), urls: { self, results: `${self}/results`, cancel: `${self}/cancel` } };
}
