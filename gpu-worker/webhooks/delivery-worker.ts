import { performance } from 'node:perf_hooks';
import type { BatchRepository } from '../../shared/batches/batch-repository.ts';
import {
  deriveWebhookSecret,
  type JobQueue,
  type JobRepository,
  ProblemError,
  type ReceivedMessage,
  signedHeaders,
  type WebhookAttempt,
} from '../../shared/index.ts';
import { type SafeFetchOptions, type SafeFetchResponse, safeFetch } from '../../shared/net/ssrf.ts';
import type { WorkerConfig } from '../config.ts';
import type { Logger } from '../ops/logger.ts';
import type { WorkerMetrics } from '../ops/metrics.ts';
import { parseQueuedDelivery, type QueuedDelivery } from './delivery-message.ts';
import {
  type AttemptOutcome,
  attemptOutcome,
  MAX_SQS_DELAY_SECONDS,
  parseRetryAfter,
  retryDelaySeconds,
} from './retry-policy.ts';

export type WebhookDeliveryConfig = Pick<
  WorkerConfig,
  | 'WEBHOOK_SIGNING_KEY'
  | 'ALLOW_PRIVATE_TARGETS'
  | 'WEBHOOK_MAX_ATTEMPTS'
  | 'WEBHOOK_TIMEOUT_SECONDS'
  | 'WEBHOOK_RETRY_BASE_SECONDS'
  | 'WEBHOOK_RETRY_MAX_DELAY_SECONDS'
>;

export interface WebhookDeliveryDeps {
  repo: JobRepository;
  /** Where `batch.*` deliveries record their attempts. */
  batches?: BatchRepository;
  webhookQueue: JobQueue;
  config: WebhookDeliveryConfig;
  logger: Logger;
  metrics: WorkerMetrics;
  fetch?: (url: string, options: SafeFetchOptions) => Promise<SafeFetchResponse>;
}

const FINAL_OUTCOMES: ReadonlySet<AttemptOutcome> = new Set(['delivered', 'gave_up', 'refused', 'stopped']);
const MAX_RESPONSE_BYTES = 64 * 1024;
const HANDLER_RETRY_SECONDS = 5;

/**
 * A message is a duplicate when its webhook already ended (delivered, gave up, refused, stopped), when a later
 * attempt of it is on record (the chain moved on), or when it is a recovery copy and the original was attempted.
 */
export function isSuperseded(delivery: QueuedDelivery, attempts: readonly WebhookAttempt[]): boolean {
  const mine = attempts.filter((a) => a.webhook_id === delivery.webhook_id);
  if (mine.some((a) => FINAL_OUTCOMES.has(a.outcome) || a.attempt > delivery.attempt)) return true;
  return delivery.recovery === true && mine.length > 0;
}

/**
 * Delivers one webhook message per call: sign, POST once, record the attempt on the job, enqueue the next attempt
 * with a delay when it should be retried, and only then delete the message. All waiting happens on the queue
 * (`DelaySeconds`), never in memory, so a restart loses nothing.
 */
export class WebhookDeliverer {
  private readonly fetch: (url: string, options: SafeFetchOptions) => Promise<SafeFetchResponse>;

  constructor(private readonly deps: WebhookDeliveryDeps) {
    this.fetch = deps.fetch ?? safeFetch;
  }

  async handle(message: ReceivedMessage): Promise<void> {
    const { webhookQueue, logger } = this.deps;
    const delivery = parseQueuedDelivery(message.body);
    if (!delivery) {
      logger.error(
        { messageId: message.messageId },
        'unreadable webhook message: leaving it for the dead-letter queue',
      );
      return;
    }
    const subject = delivery.batch_id ? { batch_id: delivery.batch_id } : { job_id: delivery.job_id };
    const log = logger.child({ ...subject, webhook_id: delivery.webhook_id, attempt: delivery.attempt });
    try {
      if (await this.waitAnotherHop(delivery)) {
        await webhookQueue.delete(message.receiptHandle);
        return;
      }
      const attempts = await this.attemptsOf(delivery);
      if (attempts && isSuperseded(delivery, attempts)) {
        log.info('webhook already attempted or settled; dropping duplicate');
        await webhookQueue.delete(message.receiptHandle);
        return;
      }
      const attempt = await this.attempt(delivery);
      this.deps.metrics.webhookAttempts.inc({ outcome: attempt.record.outcome });
      await this.recordAttempt(delivery, attempt.record);
      if (attempt.record.outcome === 'retrying') await this.enqueueRetry(delivery, attempt.delaySeconds);
      await webhookQueue.delete(message.receiptHandle);
      log.info(
        {
          event: delivery.event,
          outcome: attempt.record.outcome,
          status_code: attempt.record.status_code,
          latency_ms: attempt.record.latency_ms,
          retry_in_s: attempt.record.outcome === 'retrying' ? attempt.delaySeconds : undefined,
        },
        'webhook attempt',
      );
    } catch (err) {
      // Storage or queue trouble: the same message comes back shortly (or after its visibility timeout).
      log.warn({ err }, 'webhook handling failed; the message will be retried');
      await webhookQueue.changeVisibility(message.receiptHandle, HANDLER_RETRY_SECONDS).catch(() => {});
    }
  }

  /** The attempts on record for the delivery's job or batch; null when the record is gone. */
  private async attemptsOf(delivery: QueuedDelivery): Promise<readonly WebhookAttempt[] | null> {
    if (delivery.batch_id) {
      const found = await this.batchRepo().get(delivery.tenant, delivery.batch_id);
      return found ? found.batch.webhook_attempts : null;
    }
    if (!delivery.job_id) return null;
    const found = await this.deps.repo.get(delivery.tenant, delivery.job_id);
    return found ? found.job.webhook_attempts : null;
  }

  private async recordAttempt(delivery: QueuedDelivery, record: WebhookAttempt): Promise<void> {
    if (delivery.batch_id) {
      await this.batchRepo().update(delivery.tenant, delivery.batch_id, (batch) => {
        batch.webhook_attempts = [...batch.webhook_attempts, record];
        return true;
      });
    } else if (delivery.job_id) {
      await this.deps.repo.update(delivery.tenant, delivery.job_id, (job) => ({
        ...job,
        webhook_attempts: [...job.webhook_attempts, record],
      }));
    }
  }

  private batchRepo(): BatchRepository {
    if (!this.deps.batches) throw new Error('a batch webhook reached a deliverer without batch storage');
    return this.deps.batches;
  }

  /** A retry scheduled beyond the SQS delay limit: re-enqueue for the next hop. Returns true if it did. */
  private async waitAnotherHop(delivery: QueuedDelivery): Promise<boolean> {
    if (!delivery.not_before) return false;
    const remaining = Math.ceil((Date.parse(delivery.not_before) - Date.now()) / 1000);
    if (remaining <= 0) return false;
    await this.deps.webhookQueue.send(JSON.stringify(delivery), {
      delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, remaining),
    });
    return true;
  }

  private async attempt(delivery: QueuedDelivery): Promise<{ record: WebhookAttempt; delaySeconds: number }> {
    const { config } = this.deps;
    const secret = await deriveWebhookSecret(config.WEBHOOK_SIGNING_KEY, delivery.api_key_id);
    const headers = await signedHeaders(secret, delivery.webhook_id, delivery.payload);
    const at = new Date();
    const t0 = performance.now();
    let result: { status: number } | { networkError: true } | { refused: true };
    let response: SafeFetchResponse | null = null;
    let error: string | undefined;
    try {
      response = await this.fetch(delivery.url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'user-agent': 'yi-vl-pipeline-webhooks/1',
        },
        body: delivery.payload,
        maxBytes: MAX_RESPONSE_BYTES,
        timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
        maxRedirects: 0,
        allowPrivateHosts: config.ALLOW_PRIVATE_TARGETS,
      });
      result = { status: response.status };
    } catch (err) {
      const refused = err instanceof ProblemError && err.problem.code === 'url_not_allowed';
      result = refused ? { refused: true } : { networkError: true };
      error = err instanceof Error ? err.message : String(err);
    }
    const latency = Math.round(performance.now() - t0);
    const outcome = attemptOutcome(result, delivery.attempt, config.WEBHOOK_MAX_ATTEMPTS);
    const delaySeconds =
      outcome === 'retrying'
        ? retryDelaySeconds(
            delivery.attempt,
            {
              maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
              baseSeconds: config.WEBHOOK_RETRY_BASE_SECONDS,
              maxDelaySeconds: config.WEBHOOK_RETRY_MAX_DELAY_SECONDS,
            },
            parseRetryAfter(response?.headers['retry-after']),
          )
        : 0;
    const record: WebhookAttempt = {
      webhook_id: delivery.webhook_id,
      event: delivery.event,
      attempt: delivery.attempt,
      at: at.toISOString(),
      latency_ms: latency,
      outcome,
      ...(response ? { status_code: response.status } : {}),
      ...(error ? { error: error.slice(0, 300) } : {}),
    };
    return { record, delaySeconds };
  }

  private async enqueueRetry(delivery: QueuedDelivery, delaySeconds: number): Promise<void> {
    const next: QueuedDelivery = { ...delivery, attempt: delivery.attempt + 1 };
    delete next.not_before;
    delete next.recovery;
    if (delaySeconds > MAX_SQS_DELAY_SECONDS)
      next.not_before = new Date(Date.now() + delaySeconds * 1000).toISOString();
    await this.deps.webhookQueue.send(JSON.stringify(next), {
      delaySeconds: Math.min(MAX_SQS_DELAY_SECONDS, delaySeconds),
    });
  }
}
