import { pathToFileURL } from 'node:url';
import {
  ConfigError,
  createS3Client,
  createSqsClient,
  type Env,
  JobRepository,
  parseEnv,
  S3ObjectStore,
  SqsJobQueue,
} from '../shared/index.ts';
import { type AnalyzeRequest, type AnalyzeResult, type Analyzer, NonRetryableAnalyzeError } from './analyzer.ts';
import { credentialsOf, loadWorkerConfig, type ModelEnv, ModelEnvSchema, type WorkerConfig } from './config.ts';
import { createLogger, type Logger } from './ops/logger.ts';
import { WorkerMetrics } from './ops/metrics.ts';
import { startOpsServer } from './ops/server.ts';
import { DlqSweeper } from './runtime/dlq-sweeper.ts';
import { JobRunner } from './runtime/job-runner.ts';
import { JobNotifier } from './runtime/notifier.ts';
import { PollLoop } from './runtime/poll-loop.ts';
import { WebhookDeliverer } from './webhooks/delivery-worker.ts';

type PipelineModule = typeof import('./yi-vl/pipeline/analyzer.ts');

/** Loaded on demand so that tests which inject their own analyzer never load onnxruntime. */
const PIPELINE_MODULE = './yi-vl/pipeline/analyzer.ts';

/**
 * The hook where the real model plugs in: with `MODEL_DIR` set, loads the Yi-VL pipeline from gpu-worker/yi-vl and
 * adapts it to the `Analyzer` interface; without it, refuses to start (tests and the local stack pass their own).
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
  const mod = (await import(PIPELINE_MODULE)) as PipelineModule;
  const model = await mod.YiVlAnalyzer.start(modelDir, {
    device: opts.YI_VL_DEVICE,
    maxBatch: opts.YI_VL_MAX_BATCH,
    prefixCache: opts.YI_VL_PREFIX_CACHE,
    imageCacheSize: opts.YI_VL_IMAGE_CACHE_SIZE,
    decode: opts.YI_VL_DECODE,
    loopSteps: opts.YI_VL_LOOP_STEPS,
    ...(opts.YI_VL_VISION_BATCH > 0 ? { visionBatch: opts.YI_VL_VISION_BATCH } : {}),
  });
  return {
    describe: () => `Yi-VL from ${modelDir} ${JSON.stringify(model.startup ?? {})}`,
    startupWarnings: () => [
      ...(model.startup.cpuFallback
        ? ['the model runs on the CPU: the CUDA execution provider could not be used']
        : []),
      ...model.startup.warnings,
    ],
    close: () => model.close(),
    async analyze(req: AnalyzeRequest, signal: AbortSignal): Promise<AnalyzeResult> {
      const t0 = performance.now();
      try {
        const r = await model.analyze(
          { image: req.image, prompt: req.prompt, history: req.history, params: req.params },
          signal,
        );
        return {
          text: r.text,
          finish_reason: r.finish_reason,
          prompt_tokens: r.prompt_tokens,
          image_tokens: r.image_tokens,
          completion_tokens: r.completion_tokens,
          gpu_ms: r.timings?.total_ms ?? performance.now() - t0,
        };
      } catch (err) {
        const name = err instanceof Error ? err.name : '';
        const message = err instanceof Error ? err.message : String(err);
        if (name === 'PromptTooLongError') throw new NonRetryableAnalyzeError('context_too_long', message);
        if (/decode|unsupported image|corrupt/i.test(message))
          throw new NonRetryableAnalyzeError('input_invalid', message);
        throw err;
      }
    },
  };
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
}): Promise<WorkerHandle> {
  const { config, analyzer } = options;
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = new WorkerMetrics();
  const credentials = credentialsOf(config);
  const s3Client = createS3Client({
    region: config.AWS_REGION,
    ...(credentials ? { credentials } : {}),
    ...(config.AWS_ENDPOINT_URL_S3 ? { endpoint: config.AWS_ENDPOINT_URL_S3 } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  const sqsClient = createSqsClient({
    region: config.AWS_REGION,
    ...(credentials ? { credentials } : {}),
    ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
  });
  const store = new S3ObjectStore({
    bucket: config.S3_BUCKET,
    client: s3Client,
    conditionalWrites: config.S3_CONDITIONAL_WRITES,
  });
  const repo = new JobRepository(store);
  const jobQueue = new SqsJobQueue(sqsClient, config.JOB_QUEUE_URL);
  const webhookQueue = new SqsJobQueue(sqsClient, config.WEBHOOK_QUEUE_URL);
  const notifier = new JobNotifier(repo, webhookQueue, config.WEBHOOK_RECOVERY_DELAY_SECONDS);
  const runner = new JobRunner({ store, repo, jobQueue, notifier, analyzer, config, logger, metrics });
  const deliverer = new WebhookDeliverer({ repo, webhookQueue, config, logger, metrics });

  const jobs = new PollLoop({
    name: 'jobs',
    queue: jobQueue,
    concurrency: config.WORKER_CONCURRENCY,
    waitSeconds: config.RECEIVE_WAIT_SECONDS,
    visibilityTimeoutSeconds: config.JOB_VISIBILITY_TIMEOUT_SECONDS,
    handle: (m, shutdown) => runner.handle(m, shutdown),
    logger,
    onReceiveError: () => metrics.queueErrors.inc({ queue: 'jobs' }),
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
        const dlq = new SqsJobQueue(sqsClient, config.JOB_DLQ_URL);
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
        await Promise.all([
          jobs.stop(graceMs),
          webhooks.stop(config.WEBHOOK_TIMEOUT_SECONDS * 1000 + 1000),
          sweeper?.stop(0),
        ]);
        await analyzer.close().catch((err: unknown) => logger.warn({ err }, 'analyzer close failed'));
        await ops.close();
        s3Client.destroy();
        sqsClient.destroy();
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
    logger.fatal({ err }, 'could not load the model');
    process.exit(err instanceof ConfigError ? 78 : 1);
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
