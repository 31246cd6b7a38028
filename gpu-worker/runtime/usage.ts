import type { JobRecord, JobUsage } from '../../shared/schemas/job.ts';
import type { UsageRecord } from '../../shared/schemas/usage.ts';
import type { AnalyzeResult } from '../analyzer.ts';

/** Usage of one finished job; a job that never ran costs nothing but still gets a (zero) record. */
export function jobUsageOf(job: JobRecord, result: AnalyzeResult | null, completedAt: Date): JobUsage {
  const started = job.started_at ? Date.parse(job.started_at) : completedAt.getTime();
  const prompt = result?.prompt_tokens ?? 0;
  const image = result?.image_tokens ?? 0;
  const completion = result?.completion_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    image_tokens: image,
    completion_tokens: completion,
    total_tokens: prompt + image + completion,
    images: result ? 1 : 0,
    gpu_ms: Math.max(0, Math.round(result?.gpu_ms ?? 0)),
    queue_ms: Math.max(0, started - Date.parse(job.created_at)),
  };
}

export function usageRecordOf(job: JobRecord, usage: JobUsage, completedAt: string): UsageRecord {
  return {
    job_id: job.id,
    ...(job.batch_id ? { batch_id: job.batch_id } : {}),
    tenant: job.tenant,
    api_key_id: job.api_key_id,
    status: job.status,
    completed_at: completedAt,
    prompt_tokens: usage.prompt_tokens,
    image_tokens: usage.image_tokens,
    completion_tokens: usage.completion_tokens,
    images: usage.images,
    gpu_ms: usage.gpu_ms,
    queue_ms: usage.queue_ms,
  };
}
