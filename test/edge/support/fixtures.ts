import sharp from 'sharp';
import { JobRepository } from '../../../shared/jobs/job-repository.ts';
import type { ObjectStore } from '../../../shared/ports/object-store.ts';
import type { JobRecord } from '../../../shared/schemas/job.ts';

export async function jpeg(width = 64, height = 48, color = '#c04030'): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: color } })
      .jpeg()
      .toBuffer(),
  );
}

export function multipart(image: Uint8Array | null, fields: Record<string, string | string[]> = {}): FormData {
  const form = new FormData();
  if (image) form.set('image', new Blob([image as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'photo.jpg');
  for (const [name, value] of Object.entries(fields))
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  return form;
}

export function dataUrl(bytes: Uint8Array, type = 'image/jpeg'): string {
  return `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** Plays the worker's part on the job record (real S3, compare-and-swap), as the GPU worker would. */
export async function advance(
  store: ObjectStore,
  tenant: string,
  jobId: string,
  to: 'running' | 'succeeded' | 'failed',
  answer = 'A red square.',
): Promise<JobRecord> {
  const repo = new JobRepository(store);
  const res = await repo.update(tenant, jobId, (job) => {
    const now = new Date().toISOString();
    if (to === 'running') return { ...job, status: 'running', started_at: now, attempts: job.attempts + 1 };
    if (to === 'failed')
      return { ...job, status: 'failed', completed_at: now, error: { code: 'model_error', message: 'boom' } };
    return {
      ...job,
      status: 'succeeded',
      completed_at: now,
      output: { text: answer, finish_reason: 'stop', prompt_tokens: 10, completion_tokens: 4 },
    };
  });
  if (!res) throw new Error(`no job ${jobId}`);
  return res.job;
}
