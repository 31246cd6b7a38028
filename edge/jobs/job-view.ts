import { type JobRecord, type PublicJob, toPublicJob } from '../../shared/schemas/job.ts';

export interface JobLinks {
  get: string;
  cancel: string;
  events: string;
}

export type JobView = PublicJob & { urls: JobLinks };

/** The job as the API shows it: no tenant, key id or storage key; with links to act on it. */
export function jobView(job: JobRecord, baseUrl: string): JobView {
  return {
    ...toPublicJob(job),
    urls: {
      get: `${baseUrl}/v1/jobs/${job.id}`,
      cancel: `${baseUrl}/v1/jobs/${job.id}/cancel`,
      events: `${baseUrl}/v1/events`,
    },
  };
}
