/**
 * The image bytes the analyzer gets for a job: the stored model input; one made now from a deferred upload; or, for
 * a batch item, its image fetched (or read from the batch's data: URL) and prepared here with the Node edge's
 * preprocessing, stored as the job's model input and recorded on the job (follow-ups then reuse it).
 */
import { ProblemError } from '../../shared/errors/problem.ts';
import { modelInputFromUpload } from '../../shared/image/deferred-input.ts';
import { jobInputOf } from '../../shared/image/job-input.ts';
import { preprocessForYiVl } from '../../shared/image/sharp-preprocess.ts';
import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { ImageFetcher } from '../../shared/net/image-fetch.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import type { JobInput, JobRecord, PendingInput } from '../../shared/schemas/job.ts';
import { keys } from '../../shared/storage/keys.ts';
import { InputInvalidError } from '../analyzer-errors.ts';
import { InputMissingError, ItemImageError } from './errors.ts';

export interface ModelInputDeps {
  store: ObjectStore;
  repo: JobRepository;
  /** Fetches a batch item's image URL; without it such items fail image_fetch_failed. */
  fetchImage?: ImageFetcher | undefined;
}

export async function modelInputFor(job: JobRecord, deps: ModelInputDeps): Promise<Uint8Array> {
  if (job.input) {
    const stored = await deps.store.get(job.input.key);
    if (!stored) throw new InputMissingError(job.input.key);
    return modelInputOf(job.input, stored.body);
  }
  if (job.pending_input) return prepareItemImage(job, job.pending_input, deps);
  throw new InputMissingError(`(job ${job.id} has no input)`);
}

async function modelInputOf(input: JobInput, stored: Uint8Array): Promise<Uint8Array> {
  if (input.prepared_by !== 'worker') return stored;
  try {
    return await modelInputFromUpload(stored, input);
  } catch (error) {
    if (error instanceof ProblemError) throw new InputInvalidError(error.message);
    throw error;
  }
}

async function prepareItemImage(job: JobRecord, pending: PendingInput, deps: ModelInputDeps): Promise<Uint8Array> {
  const limits = {
    maxBytes: pending.limits.max_bytes,
    maxPixels: pending.limits.max_pixels,
    maxSide: pending.limits.max_side,
  };
  let bytes: Uint8Array;
  try {
    if (pending.source === 'url') {
      if (!deps.fetchImage || !pending.url)
        throw new ProblemError('image_fetch_failed', 'This worker does not fetch remote image URLs.');
      bytes = await deps.fetchImage(pending.url, { maxBytes: limits.maxBytes });
    } else {
      const stored = await deps.store.get(pending.key);
      if (!stored) throw new InputMissingError(pending.key);
      bytes = stored.body;
    }
    const prepared = await preprocessForYiVl(bytes, limits);
    const key = keys.modelInput(job.tenant, job.id);
    await deps.store.put(key, prepared.png, { contentType: 'image/png' });
    const input = jobInputOf(pending.source, key, prepared);
    await deps.repo.update(job.tenant, job.id, (j) => {
      if (j.input) return null;
      const { pending_input: _p, ...rest } = j;
      return { ...rest, input };
    });
    if (pending.source === 'data_url') await deps.store.delete(pending.key).catch(() => {});
    return prepared.png;
  } catch (error) {
    if (error instanceof ProblemError) throw new ItemImageError(error.code, error.message);
    throw error;
  }
}
