import { performance } from 'node:perf_hooks';
import {
  decodeJobMessage,
  isTerminal,
  type JobError,
  type JobMessage,
  type JobOutput,
  type JobQueue,
  type JobRecord,
  type JobRepository,
  keys,
  type ObjectStore,
  putJson,
  type ReceivedMessage,
  utcDay,
} from '../../shared/index.ts';
import type { ImageFetcher } from '../../shared/net/image-fetch.ts';
import type { AnalyzeResult, Analyzer } from '../analyzer.ts';
import type { WorkerConfig } from '../config.ts';
import type { Logger } from '../ops/logger.ts';
import type { WorkerMetrics } from '../ops/metrics.ts';
import { jobRetryDelaySeconds } from './backoff.ts';
import type { BatchProgress } from './batch-progress.ts';
import { cancelRequested, watchCancel } from './cancel-watch.ts';
import { queueTtlExpired, RunAbort } from './deadlines.ts';
import { classifyFailure, errorMessage } from './errors.ts';
import { startHeartbeat } from './heartbeat.ts';
import { modelInputFor } from './model-input.ts';
import type { JobNotifier } from './notifier.ts';
import { structuredOutputOf } from './structured-output.ts';
import { jobUsageOf, usageRecordOf } from './usage.ts';

export type JobRunnerConfig = Pick<
  WorkerConfig,
  | 'MAX_RECEIVE_COUNT'
  | 'JOB_VISIBILITY_TIMEOUT_SECONDS'
  | 'RETRY_BASE_SECONDS'
  | 'RETRY_MAX_SECONDS'
  | 'RUN_TIMEOUT_SECONDS'
  | 'CANCEL_POLL_MS'
>;

export interface JobRunnerDeps {
  store: ObjectStore;
  repo: JobRepository;
  jobQueue: JobQueue;
  notifier: JobNotifier;
  analyzer: Analyzer;
  /** Fetches batch items' image URLs (SSRF-checked). */
  fetchImage?: ImageFetcher;
  /** Keeps batch records in step with their items (batch items only). */
  batchProgress?: BatchProgress;
  config: JobRunnerConfig;
  logger: Logger;
  metrics: WorkerMetrics;
  /** The time of start, queue-deadline and finish decisions (tests move it; default: the system clock). */
  clock?: () => Date;
}

type Terminal = 'succeeded' | 'failed' | 'canceled';
interface Ending {
  status: Terminal;
  result: AnalyzeResult | null;
  error?: JobError;
}

/**
 * Whether the job is running under another queue message than this one. SQS delivers at least once and the edge may
 * send a job's message twice, so a second message for a running job is a duplicate: it is dropped without running.
 * A redelivery of the message the run started from (same message id) means that run's lease lapsed (its worker died
 * or stopped renewing it), so it takes the job over.
 */
function runByAnotherMessage(job: JobRecord, message: ReceivedMessage): boolean {
  return job.status === 'running' && job.run_message_id !== undefined && job.run_message_id !== message.messageId;
}

/**
 * Runs one job message through the lifecycle. The job record is the truth; the message is only a pointer, so every
 * step tolerates redelivery and duplicates: a terminal job is acked without running, a job that another message is
 * running is acked without running, and each state change is a CAS update. However many messages a job has, it runs
 * once (again only after a retryable failure or a lapsed lease), ends once, and gets one terminal event and one
 * usage record.
 * Order of durable writes on finish: usage record → job record → event + webhook message → delete job message.
 */
export class JobRunner {
  private readonly now: () => Date;
  constructor(private readonly deps: JobRunnerDeps) {
    this.now = deps.clock ?? (() => new Date());
  }

  async handle(message: ReceivedMessage, shutdown: AbortSignal): Promise<void> {
    const { logger, jobQueue } = this.deps;
    let ref: JobMessage;
    try {
      ref = decodeJobMessage(message.body);
    } catch {
      // A message this worker cannot read (newer version, garbage) is left alone so redrive dead-letters it.
      logger.error(
        { messageId: message.messageId, receiveCount: message.receiveCount },
        'unreadable job message: leaving it for the dead-letter queue',
      );
      await jobQueue.changeVisibility(message.receiptHandle, 0).catch(() => {});
      return;
    }
    const log = logger.child({ job_id: ref.job_id, tenant: ref.tenant, receive_count: message.receiveCount });
    try {
      await this.process(ref, message, shutdown, log);
    } catch (err) {
      // Storage or queue failed outside the model run: try again later (the receive count bounds this).
      log.warn({ err }, 'job handling failed; will retry');
      await this.retryLater(ref, message, errorMessage(err), log);
    }
  }

  private async process(ref: JobMessage, message: ReceivedMessage, shutdown: AbortSignal, log: Logger) {
    const { repo, notifier, metrics } = this.deps;
    const current = await repo.get(ref.tenant, ref.job_id);
    if (!current) {
      log.warn('job record not found; dropping its message');
      await this.ack(message, log);
      return;
    }
    if (isTerminal(current.job.status)) {
      await notifier.ensureTerminalNotices(current.job);
      await this.deps.batchProgress?.end(current.job);
      metrics.jobs.inc({ outcome: 'duplicate' });
      log.info({ status: current.job.status }, 'job already ended; acknowledging redelivered message');
      await this.ack(message, log);
      return;
    }
    if (runByAnotherMessage(current.job, message)) {
      await this.dropDuplicate(message, log);
      return;
    }
    if (current.job.cancel_requested_at || (await cancelRequested(this.deps.store, ref.tenant, ref.job_id))) {
      await this.finish(current.job, { status: 'canceled', result: null }, message, log);
      return;
    }
    if (queueTtlExpired(current.job, this.now())) {
      metrics.jobs.inc({ outcome: 'expired' });
      const error = { code: 'queue_ttl_expired', message: `not started before ${current.job.expires_at}` };
      await this.finish(current.job, { status: 'failed', result: null, error }, message, log);
      return;
    }

    // A batch item runs only if its batch has not canceled it; the batch counts it as running first.
    if (current.job.batch_id && this.deps.batchProgress) {
      const verdict = await this.deps.batchProgress.start(current.job);
      if (verdict === 'canceled') {
        await this.finish(current.job, { status: 'canceled', result: null }, message, log);
        return;
      }
    }

    const started = await repo.update(ref.tenant, ref.job_id, (job) => {
      // A duplicate of this message may have started the job since it was read: the CAS re-runs this on its write.
      if (isTerminal(job.status) || runByAnotherMessage(job, message)) return null;
      const now = this.now().toISOString();
      return {
        ...job,
        status: 'running',
        attempts: job.attempts + 1,
        started_at: job.started_at ?? now,
        run_message_id: message.messageId,
      };
    });
    if (!started?.changed) {
      if (started && runByAnotherMessage(started.job, message)) await this.dropDuplicate(message, log);
      else {
        if (started) await notifier.ensureTerminalNotices(started.job);
        if (started) await this.deps.batchProgress?.end(started.job);
        await this.ack(message, log);
      }
      return;
    }
    const job = started.job;
    if (job.attempts === 1 && job.started_at)
      metrics.queueWait.observe((Date.parse(job.started_at) - Date.parse(job.created_at)) / 1000);
    await notifier.announce(job, 'job.started');
    log.info({ attempt: job.attempts }, 'job started');

    const { result, error, cause } = await this.run(job, message, shutdown, log);

    if (result && result.finish_reason !== 'canceled') {
      await this.finish(job, { status: 'succeeded', result }, message, log);
    } else if (cause === 'cancel') {
      await this.finish(job, { status: 'canceled', result }, message, log);
    } else if (cause === 'timeout') {
      const error = { code: 'run_timeout', message: `aborted after ${this.deps.config.RUN_TIMEOUT_SECONDS} s` };
      await this.finish(job, { status: 'failed', result, error }, message, log);
    } else if (cause === 'shutdown') {
      await this.release(job, message, log);
    } else if (error !== undefined) {
      const failure = classifyFailure(error);
      if (failure.retryable) {
        log.warn({ err: error, reason: failure.reason }, 'job attempt failed; retryable');
        await this.retryLater(ref, message, `${failure.reason}: ${errorMessage(error)}`, log);
      } else {
        log.warn({ code: failure.error.code, err: error }, 'job failed; not retryable');
        await this.finish(job, { status: 'failed', result: null, error: failure.error }, message, log);
      }
    } else {
      // The analyzer reported `canceled` although nothing asked it to stop: treat as a crash.
      await this.retryLater(ref, message, 'model stopped without a cause', log);
    }
  }

  /** For the dead-letter sweeper: fails the job of a dead-lettered message unless it already ended. */
  async failDeadLettered(ref: JobMessage, log: Logger): Promise<boolean> {
    const current = await this.deps.repo.get(ref.tenant, ref.job_id);
    if (!current || isTerminal(current.job.status)) return false;
    const error = {
      code: 'too_many_attempts',
      message: 'every delivery of the job failed; its message was dead-lettered',
    };
    await this.finish(current.job, { status: 'failed', result: null, error }, null, log);
    return true;
  }

  /** Loads the input and runs the model under heartbeat, cancel watch, run timeout and shutdown. */
  private async run(job: JobRecord, message: ReceivedMessage, shutdown: AbortSignal, log: Logger) {
    const { store, analyzer, config, metrics, jobQueue } = this.deps;
    const abort = new RunAbort(config.RUN_TIMEOUT_SECONDS * 1000, shutdown);
    const heartbeat = startHeartbeat(jobQueue, message.receiptHandle, config.JOB_VISIBILITY_TIMEOUT_SECONDS, log);
    const cancelWatch = watchCancel(store, job.tenant, job.id, config.CANCEL_POLL_MS, () => abort.abort('cancel'), log);
    metrics.inFlight.inc();
    const t0 = performance.now();
    let result: AnalyzeResult | null = null;
    let error: unknown;
    try {
      const image = await modelInputFor(job, { store, repo: this.deps.repo, fetchImage: this.deps.fetchImage });
      result = await analyzer.analyze(
        {
          jobId: job.id,
          image,
          prompt: job.prompt,
          history: job.conversation.history,
          params: job.params,
        },
        abort.signal,
      );
    } catch (err) {
      error = err;
    } finally {
      heartbeat.stop();
      cancelWatch.stop();
      abort.dispose();
      metrics.inFlight.dec();
      metrics.runTime.observe((performance.now() - t0) / 1000);
    }
    return { result, error, cause: abort.cause };
  }

  /** Ends the job; `message` null leaves the message alone (it is headed for the dead-letter queue). */
  private async finish(job: JobRecord, ending: Ending, message: ReceivedMessage | null, log: Logger): Promise<void> {
    const { store, repo, notifier, metrics } = this.deps;
    const completedAt = this.now();
    const completedIso = completedAt.toISOString();
    const usage = jobUsageOf(job, ending.result, completedAt);
    const output: JobOutput | undefined = ending.result
      ? {
          text: ending.result.text,
          finish_reason: ending.result.finish_reason,
          ...structuredOutputOf(ending.result.text, ending.result.finish_reason, job.params.response_format),
          prompt_tokens: ending.result.prompt_tokens,
          completion_tokens: ending.result.completion_tokens,
        }
      : undefined;
    const usageKey = keys.usage(job.tenant, utcDay(completedAt), job.id);
    // Billing first: a job never shows as finished without its usage record.
    await putJson(store, usageKey, usageRecordOf({ ...job, status: ending.status }, usage, completedIso));
    const updated = await repo.update(job.tenant, job.id, (j) => {
      if (isTerminal(j.status)) return null;
      const next: JobRecord = { ...j, status: ending.status, completed_at: completedIso, usage };
      if (output) next.output = output;
      if (ending.error) next.error = ending.error;
      else delete next.error;
      return next;
    });
    if (updated?.changed) {
      await notifier.announce(updated.job, `job.${ending.status}`);
      await this.deps.batchProgress?.end(updated.job);
      metrics.jobs.inc({ outcome: ending.status });
      if (ending.result && ending.result.gpu_ms > 0) {
        metrics.completionTokens.inc(ending.result.completion_tokens);
        metrics.tokensPerSecond.observe(ending.result.completion_tokens / (ending.result.gpu_ms / 1000));
      }
      log.info(
        { status: ending.status, code: ending.error?.code, gpu_ms: usage.gpu_ms, tokens: usage.completion_tokens },
        'job ended',
      );
    } else {
      // Another writer ended it first: the usage record describes the job as it actually ended, under the day it
      // ended (ours may be another day), and ours goes.
      const final = updated?.job;
      if (final?.usage && final.completed_at) {
        const finalKey = keys.usage(job.tenant, utcDay(final.completed_at), job.id);
        await putJson(store, finalKey, usageRecordOf(final, final.usage, final.completed_at));
        if (finalKey !== usageKey) await store.delete(usageKey);
      } else await store.delete(usageKey);
      if (final) await notifier.ensureTerminalNotices(final);
      if (final) await this.deps.batchProgress?.end(final);
      log.info({ status: final?.status }, 'job was ended by another writer');
    }
    if (message) await this.ack(message, log);
  }

  /** Shutdown: the job goes back to `queued` and its message becomes visible at once for another worker. */
  private async release(job: JobRecord, message: ReceivedMessage, log: Logger): Promise<void> {
    const { repo, jobQueue, metrics } = this.deps;
    const updated = await repo.update(job.tenant, job.id, (j) =>
      j.status === 'running' ? { ...j, status: 'queued' } : null,
    );
    if (updated?.changed) {
      await repo.appendEvent(updated.job, 'job.queued');
      await this.deps.batchProgress?.requeue(updated.job).catch(() => {});
    }
    await jobQueue.changeVisibility(message.receiptHandle, 0).catch((err: unknown) => {
      log.warn({ err }, 'could not release message; it returns after its visibility timeout');
    });
    metrics.jobs.inc({ outcome: 'released' });
    log.info('job released for another worker');
  }

  /**
   * A retryable failure: with receives left, the job goes back to `queued` and the message reappears after a
   * backoff; on the last receive the job fails `too_many_attempts` and the message is left for the dead-letter queue.
   */
  private async retryLater(ref: JobMessage, message: ReceivedMessage, reason: string, log: Logger): Promise<void> {
    const { repo, jobQueue, config, metrics } = this.deps;
    try {
      if (message.receiveCount >= config.MAX_RECEIVE_COUNT) {
        const current = await repo.get(ref.tenant, ref.job_id);
        if (current && !isTerminal(current.job.status)) {
          const error = {
            code: 'too_many_attempts',
            message: `failed on ${message.receiveCount} deliveries; last: ${reason}`,
          };
          await this.finish(current.job, { status: 'failed', result: null, error }, null, log);
        }
        await jobQueue.changeVisibility(message.receiptHandle, 0);
        metrics.jobs.inc({ outcome: 'dead_lettered' });
        return;
      }
      const error = { code: 'model_error', message: reason, retryable: true };
      const updated = await repo.update(ref.tenant, ref.job_id, (j) =>
        j.status === 'running' ? { ...j, status: 'queued', error } : null,
      );
      if (updated?.changed) {
        await repo.appendEvent(updated.job, 'job.queued');
        await this.deps.batchProgress?.requeue(updated.job);
      }
    } catch (err) {
      log.warn({ err }, 'could not record the retry on the job');
    }
    const delay = jobRetryDelaySeconds(message.receiveCount, config.RETRY_BASE_SECONDS, config.RETRY_MAX_SECONDS);
    await jobQueue.changeVisibility(message.receiptHandle, delay).catch((err: unknown) => {
      log.warn({ err }, 'could not set retry backoff; the message returns after its visibility timeout');
    });
    metrics.jobs.inc({ outcome: 'retried' });
    log.info({ delay_s: delay }, 'job will be retried');
  }

  /** Another message of this job is running it: this copy is deleted (the running one stays until the job ends). */
  private async dropDuplicate(message: ReceivedMessage, log: Logger): Promise<void> {
    this.deps.metrics.jobs.inc({ outcome: 'duplicate' });
    log.info({ message_id: message.messageId }, 'another message of this job is running it; dropping this duplicate');
    await this.ack(message, log);
  }

  private async ack(message: ReceivedMessage, log: Logger): Promise<void> {
    await this.deps.jobQueue.delete(message.receiptHandle).catch((err: unknown) => {
      log.warn({ err }, 'could not delete job message; a redelivery will find the job ended');
    });
  }
}
