/** The image bytes the analyzer gets for a job: the stored model input, or one made now from a deferred upload. */
import { ProblemError } from '../../shared/errors/problem.ts';
import { modelInputFromUpload } from '../../shared/image/deferred-input.ts';
import type { JobRecord } from '../../shared/schemas/job.ts';
import { InputInvalidError } from '../analyzer-errors.ts';

export async function modelInputOf(job: JobRecord, stored: Uint8Array): Promise<Uint8Array> {
  if (job.input.prepared_by !== 'worker') return stored;
  try {
    return await modelInputFromUpload(stored, job.input);
  } catch (error) {
    if (error instanceof ProblemError) throw new InputInvalidError(error.message);
    throw error;
  }
}
