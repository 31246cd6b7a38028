import { ProblemError } from '../../shared/errors/problem.ts';
import type { JobRepository } from '../../shared/jobs/job-repository.ts';
import type { JobQueue } from '../../shared/ports/job-queue.ts';
import type { ObjectStore } from '../../shared/ports/object-store.ts';
import { isTerminal, type JobRecord } from '../../shared/schemas/job.ts';
import { keys } from '../../shared/storage/keys.ts';
import { webhookDeliveryFor } from '../../shared/webhooks/delivery.ts';

export interface CancelOutcome {
  job: JobRecord;
  /** `canceled`: the job was queued and is now canceled; `requested`: it is running and the worker will stop it. */
  outcome: 'canceled' | 'requested';
}

/**
 * Cancels a job: a queued job ends at once (compare-and-swap, so a worker that started it meanwhile wins and the
 * request becomes a cancel request); a running job gets `cancel_requested_at` plus the marker the worker polls.
 * Repeating the call is harmless. Returns null when the job does not exist (for this tenant).
 */
export async function cancelJob(
  deps: { repo: JobRepository; store: ObjectStore; webhookQueue: JobQueue },
  tenant: string,
  jobId: string,
  now: Date,
): Promise<CancelOutcome | null> {
  const at = now.toISOString();
  let terminal: JobRecord | null = null;
  const res = await deps.repo.update(tenant, jobId, (job) => {
    if (isTerminal(job.status)) {
      terminal = job;
      return null;
    }
    if (job.status === 'queued') return { ...job, status: 'canceled', cancel_requested_at: at, completed_at: at };
    if (job.cancel_requested_at) return null;
    return { ...job, cancel_requested_at: at };
  });
  if (!res) return null;
  if (terminal !== null && !res.changed) {
    const ended = terminal as JobRecord;
    // A second cancel of a job this endpoint canceled is a no-op success; anything else has ended otherwise.
    if (ended.status === 'canceled') {
      // If the first call stopped before its event or webhook was written, write them now (same ids: no duplicates).
      await deps.repo.appendTerminalEvent(ended);
      if (!ended.webhook_attempts.some((a) => a.event === 'job.canceled')) await sendCanceledWebhook(deps, ended, now);
      return { job: ended, outcome: 'canceled' };
    }
    throw new ProblemError('job_not_cancelable', `The job has already ${ended.status}.`, { job_status: ended.status });
  }
  const job = res.job;
  if (job.status === 'canceled') {
    if (res.changed) {
      await deps.repo.appendTerminalEvent(job);
      await sendCanceledWebhook(deps, job, now);
    }
    return { job, outcome: 'canceled' };
  }
  await deps.store.put(keys.cancel(tenant, jobId), JSON.stringify({ requested_at: job.cancel_requested_at ?? at }), {
    contentType: 'application/json',
  });
  return { job, outcome: 'requested' };
}

async function sendCanceledWebhook(deps: { webhookQueue: JobQueue }, job: JobRecord, now: Date): Promise<void> {
  const delivery = webhookDeliveryFor(job, 'job.canceled', now);
  if (delivery) await deps.webhookQueue.send(JSON.stringify(delivery));
}
