import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type JobOutcome =
  | 'succeeded'
  | 'failed'
  | 'canceled'
  | 'retried'
  | 'released'
  | 'duplicate'
  | 'expired'
  | 'dead_lettered';

/** The worker's Prometheus metrics, on a registry of its own so several workers can share a process (tests). */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({
    name: 'yivl_worker_jobs_total',
    help: 'job deliveries handled, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'yivl_worker_queue_wait_seconds',
    help: 'time from job creation to its first start',
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });
  readonly runTime = new Histogram({
    name: 'yivl_worker_run_seconds',
    help: 'model run time per job attempt',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly tokensPerSecond = new Histogram({
    name: 'yivl_worker_tokens_per_second',
    help: 'completion tokens per second of GPU time, per finished job',
    buckets: [1, 5, 10, 20, 40, 80, 160, 320],
    registers: [this.registry],
  });
  readonly completionTokens = new Counter({
    name: 'yivl_worker_completion_tokens_total',
    help: 'completion tokens generated',
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'yivl_worker_jobs_in_flight',
    help: 'jobs running in this process',
    registers: [this.registry],
  });
  readonly webhookAttempts = new Counter({
    name: 'yivl_worker_webhook_attempts_total',
    help: 'webhook delivery attempts, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly queueErrors = new Counter({
    name: 'yivl_worker_poll_errors_total',
    help: 'failed queue receives, by queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
}
