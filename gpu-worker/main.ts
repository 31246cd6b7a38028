import { pathToFileURL } from 'node:url';
import { BatchRepository } from '../shared/batches/batch-repository.ts';
import { ConfigError, createAwsClients, type Env, JobRepository, parseEnv } from '../shared/index.ts';
import { createImageFetcher } from '../shared/net/image-fetch.ts';
import { decodeBatchQueueMessage } from '../shared/schemas/queue-message.ts';
import type { Analyzer } from './analyzer.ts';
import { loadWorkerConfig, type ModelEnv, ModelEnvSchema, type WorkerConfig } from './config.ts';
import { createLogger, type Logger } from './ops/logger.ts';
import { WorkerMetrics } from './ops/metrics.ts';
import { startOpsServer } from './ops/server.ts';
import { BatchEndPublisher } from './runtime/batch-end.ts';
import { BatchIntake } from './runtime/batch-intake.ts';
import { BatchProgress } from './runtime/batch-progress.ts';
import { DlqSweeper } from './runtime/dlq-sweeper.ts';
import { JobRunner } from './runtime/job-runner.ts';
import { JobNotifier } from './runtime/notifier.ts';
import { PollLoop } from './runtime/poll-loop.ts';
import { WebhookDeliverer } from './webhooks/delivery-worker.ts';
import { checkCudaProvider } from './yi-vl/pipeline/cuda-provider-check.ts';

type PipelineModule = typeof import('./yi-vl/pipeline/analyzer.ts');

/** Loaded on demand so that tests which inject their own analyzer never load onnxruntime. */
const PIPELINE_MODULE = './yi-vl/pipeline/analyzer.ts';

/**
 * The hook where the real model plugs in: with `MODEL_DIR` set, starts the Yi-VL pipeline's `Analyzer`
 * (gpu-worker/yi-vl/pipeline/analyzer.ts); without it, refuses to start (tests and the local stack pass their own).
 */
export async function createAnalyzerFromEnv(env: Env): Promise<Analyzer> {
  return createYiVlAnalyzer({ ...parseEnv(ModelEnvSchema, env), MODEL_DIR: env.MODEL_DIR || undefined });
}

/** The same, from already-parsed configuration (the worker process parses its whole environment once). */
export async function createYiVlAnalyzer(opts: ModelEnv & { MODEL_DIR?: string | undefined }): Promise<Analyzer> {
  const modelDir = opts.MODEL_DIR;
  if (!modelDir)
    throw new ConfigError([
      'MODEL_DIR is required: folder of the converted Yi-VL model (see scripts/convert.ts), or embed the worker with startWorker({analyzer}) for tests',
    ]);
  // A CUDA provider from another onnxruntime version is refused here, before onnxruntime would try to load it.
  if (opts.YI_VL_DEVICE === 'auto' || opts.YI_VL_DEVICE === 'cuda') {
    const check = checkCudaProvider();
    if (check.status === 'mismatch') throw new ConfigError([check.message!]);
  }
  const mod = (await import(PIPELINE_MODULE)) as PipelineModule;
  return mod.YiVlAnalyzer.start(modelDir, {
    device: opts.YI_VL_DEVICE,
    maxBatch: opts.YI_VL_MAX_BATCH,
    prefixCache: opts.YI_VL_PREFIX_CACHE,
    imageCacheSize: opts.YI_VL_IMAGE_CACHE_SIZE,
    decode: opts.YI_VL_DECODE,
    loopSteps: opts.YI_VL_LOOP_STEPS,
    ...(opts.YI_VL_VISION_BATCH > 0 ? { visionBatch: opts.YI_VL_VISION_BATCH } : {}),
  });
}

export interface WorkerHandle {
  readonly opsPort: number;
  readonly metrics: WorkerMetrics;
  /** Stops polling, lets in-flight jobs finish within SHUTDOWN_GRACE_SECONDS, releases the rest, closes the model. */
  stop(): Promise<void>;
}

/** Builds the ports from config and starts the job consumer, the webhook delivery loop and the ops server. */
export async function startWorker(options: {
  config: WorkerConfig;
  analyzer: Analyzer;
  logger?: Logger;
  /** The clock of job start, queue-deadline and finish times (default: the system clock). */
  clock?: () => Date;
}): Promise<WorkerHandle> {
  const { config, analyzer } = options;
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = new WorkerMetrics();
  const aws = createAwsClients(config);
  const { store } = aws;
  const repo = new JobRepository(store);
  const jobQueue = aws.queue(config.JOB_QUEUE_URL);
  const webhookQueue = aws.queue(config.WEBHOOK_QUEUE_URL);
  const notifier = new JobNotifier(repo, webhookQueue, config.WEBHOOK_RECOVERY_DELAY_SECONDS);
  const batches = new BatchRepository(store);
  const batchEnd = new BatchEndPublisher({
    store,
    repo,
    batches,
    webhookQueue,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    recoveryDelaySeconds: config.WEBHOOK_RECOVERY_DELAY_SECONDS,
    logger,
  });
  const batchProgress = new BatchProgress({
    batches,
    publishEnd: (batch, recovery) => batchEnd.publish(batch, recovery),
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const fetchImage = createImageFetcher({
    timeoutMs: config.IMAGE_FETCH_TIMEOUT_MS,
    maxRedirects: config.IMAGE_FETCH_MAX_REDIRECTS,
    allowPrivateHosts: config.ALLOW_PRIVATE_TARGETS,
  });
  const runnerFor = (queue: typeof jobQueue) =>
    new JobRunner({
      store,
      repo,
      jobQueue: queue,
      notifier,
      analyzer,
      fetchImage,
      batchProgress,
      config,
      logger,
      metrics,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  const runner = runnerFor(jobQueue);
  const deliverer = new WebhookDeliverer({ repo, batches, webhookQueue, config, logger, metrics });
  const batchQueue = config.BATCH_QUEUE_URL ? aws.queue(config.BATCH_QUEUE_URL) : null;
  // Intakes are storage and queue work, not model work: they run beside the job slots, so a long one never keeps
  // a slot (and the interactive jobs waiting for it) busy.
  const intakes = new Set<Promise<void>>();
  const intakeStop = new AbortController();
  const background = batchQueue
    ? (() => {
        const batchRunner = runnerFor(batchQueue);
        const intake = new BatchIntake({
          store,
          repo,
          batches,
          batchQueue,
          chunk: config.BATCH_INTAKE_CHUNK,
          visibilityTimeoutSeconds: config.JOB_VISIBILITY_TIMEOUT_SECONDS,
          publishEnd: (batch, recovery) => batchEnd.publish(batch, recovery),
          logger,
        });
        return {
          name: 'batches',
          queue: batchQueue,
          probeSeconds: config.BATCH_PRIORITY_PROBE_SECONDS,
          onReceiveError: () => metrics.queueErrors.inc({ queue: 'batches' }),
          handle: async (m: Parameters<typeof batchRunner.handle>[0], shutdown: AbortSignal) => {
            const decoded = decodeBatchQueueMessage(m.body);
            if (decoded?.kind === 'intake') {
              const run = intake.handle(decoded.message, m, intakeStop.signal).finally(() => intakes.delete(run));
              intakes.add(run);
            } else await batchRunner.handle(m, shutdown);
          },
        };
      })()
    : undefined;

  const jobs = new PollLoop({
    name: 'jobs',
    queue: jobQueue,
    concurrency: config.WORKER_CONCURRENCY,
    waitSeconds: config.RECEIVE_WAIT_SECONDS,
    visibilityTimeoutSeconds: config.JOB_VISIBILITY_TIMEOUT_SECONDS,
    handle: (m, shutdown) => runner.handle(m, shutdown),
    logger,
    onReceiveError: () => metrics.queueErrors.inc({ queue: 'jobs' }),
    ...(background ? { background } : {}),
  });
  const webhooks = new PollLoop({
    name: 'webhooks',
    queue: webhookQueue,
    concurrency: config.WEBHOOK_CONCURRENCY,
    waitSeconds: config.RECEIVE_WAIT_SECONDS,
    visibilityTimeoutSeconds: Math.ceil(config.WEBHOOK_TIMEOUT_SECONDS) + config.WEBHOOK_LEASE_MARGIN_SECONDS,
    handle: (m) => deliverer.handle(m),
    logger,
    onReceiveError: () => metrics.queueErrors.inc({ queue: 'webhooks' }),
  });
  const sweeper = config.JOB_DLQ_URL
    ? (() => {
        const dlq = aws.queue(config.JOB_DLQ_URL);
        const s = new DlqSweeper({ dlq, runner, logger, metrics });
        return new PollLoop({
          name: 'dlq-sweeper',
          queue: dlq,
          concurrency: 1,
          waitSeconds: config.RECEIVE_WAIT_SECONDS,
          handle: (m) => s.handle(m),
          logger,
          onReceiveError: () => metrics.queueErrors.inc({ queue: 'dlq' }),
        });
      })()
    : null;

  let stopping = false;
  const ops = await startOpsServer({
    port: config.METRICS_PORT,
    host: config.METRICS_HOST,
    metrics,
    health: () => ({
      ok: !stopping && jobs.healthy && webhooks.healthy,
      status: stopping ? 'draining' : 'running',
      jobs_in_flight: jobs.active,
      webhooks_in_flight: webhooks.active,
      job_queue_reachable: jobs.healthy,
      webhook_queue_reachable: webhooks.healthy,
    }),
  });
  jobs.start();
  webhooks.start();
  sweeper?.start();
  logger.info(
    { analyzer: analyzer.describe(), concurrency: config.WORKER_CONCURRENCY, ops_port: ops.port },
    'worker started',
  );
  for (const warning of analyzer.startupWarnings?.() ?? []) logger.warn({ startup: true }, warning);

  let stopped: Promise<void> | null = null;
  return {
    opsPort: ops.port,
    metrics,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        logger.info({ in_flight: jobs.active }, 'worker stopping');
        const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
        intakeStop.abort();
        await Promise.all([
          Promise.allSettled([...intakes]),
          jobs.stop(graceMs),
          webhooks.stop(config.WEBHOOK_TIMEOUT_SECONDS * 1000 + 1000),
          sweeper?.stop(0),
        ]);
        await analyzer.close().catch((err: unknown) => logger.warn({ err }, 'analyzer close failed'));
        await ops.close();
        aws.destroy();
        logger.info('worker stopped');
      })();
      return stopped;
    },
  };
}

/**
 * The process entry: validates the environment, loads the model, runs until SIGTERM/SIGINT, then drains and exits 0.
 * Tests and the local stack pass their own analyzer factory.
 */
export async function runWorkerProcess(
  makeAnalyzer: (config: WorkerConfig) => Promise<Analyzer> = createYiVlAnalyzer,
): Promise<void> {
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gpu-worker: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  let analyzer: Analyzer;
  try {
    analyzer = await makeAnalyzer(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      // A refusal the operator must fix (no MODEL_DIR, a CUDA provider from another onnxruntime): one line each.
      for (const problem of err.problems) process.stderr.write(`gpu-worker: ${problem}\n`);
      process.exit(78);
    }
    logger.fatal({ err }, 'could not load the model');
    process.exit(1);
  }
  const handle = await startWorker({ config, analyzer, logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'already draining');
      return;
    }
    signalled = true;
    logger.info({ signal }, 'signal received: draining');
    handle.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWorkerProcess().catch((err: unknown) => {
    process.stderr.write(`gpu-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
