import { z } from 'zod';
import { awsEnvShape, type Env, envVar, logEnvShape, parseEnv, webhookSigningKeyVar } from '../shared/config/env.ts';
import { parseAllowList } from '../shared/net/address-policy.ts';

/** How the Yi-VL pipeline runs; read by `createAnalyzerFromEnv` (also on its own, e.g. by the local stack). */
export const modelEnvShape = {
  YI_VL_DEVICE: z
    .enum(['auto', 'cuda', 'cpu', 'webgpu'])
    .default('auto')
    .describe(
      'auto: CUDA when its provider loads, else CPU (reported at start-up); cuda: refuse to start without it; ' +
        'webgpu: the WebGPU EP with the KV cache kept in GPU buffers (needs a Vulkan driver)',
    ),
  YI_VL_MAX_BATCH: envVar.int('answers decoded together by the model thread (continuous batching)', 4, 1, 64),
  YI_VL_PREFIX_CACHE: envVar.bool('compute the system-prompt KV once per model load and reuse it', true),
  YI_VL_VISION_BATCH: envVar.int('images per vision-tower call (0: 4 on CUDA, 1 on CPU)', 0, 0, 64),
  YI_VL_IMAGE_CACHE_SIZE: envVar.int('images whose projected features are kept for follow-up questions', 4, 0, 1024),
  YI_VL_DECODE: z
    .enum(['auto', 'loop', 'step'])
    .default('auto')
    .describe(
      'loop: up to YI_VL_LOOP_STEPS tokens per decoder call in the in-graph loop (batches with a grammar-constrained ' +
        'row take the step); step: one token per call, chosen in JS; auto: loop on the CPU EP where the model ' +
        'folder has decoder_loop.onnx, else step (on CUDA the loop holds a second copy of the decoder weights on the GPU)',
    ),
  YI_VL_LOOP_STEPS: envVar.int('tokens per in-graph decode loop run', 16, 1, 256),
};
export const ModelEnvSchema = z.object(modelEnvShape);
export type ModelEnv = z.infer<typeof ModelEnvSchema>;

/** Every variable the worker reads, validated at start-up; `loadWorkerConfig` lists all problems at once. */
export const workerEnvSchema = z.object({
  ...awsEnvShape,
  ...logEnvShape,
  WEBHOOK_QUEUE_URL: envVar.url('SQS queue URL of the webhook delivery queue'),
  WEBHOOK_SIGNING_KEY: webhookSigningKeyVar,
  ALLOW_PRIVATE_TARGETS: z
    .string()
    .default('')
    .transform(parseAllowList)
    .describe('comma-separated hosts/IPs webhooks may reach despite being private (local stack and tests only)'),
  JOB_DLQ_URL: envVar
    .url('job dead-letter queue URL; when set, a sweeper marks jobs of dead letters failed')
    .optional(),
  BATCH_QUEUE_URL: envVar
    .url('SQS queue URL of the batch queue; its messages are taken only when the job queue has none waiting')
    .optional(),
  BATCH_PRIORITY_PROBE_SECONDS: envVar.int(
    'with a batch queue: how long each receive waits on the job queue before looking at the batch queue (SQS short polls sample some servers; 1 s makes every receive see a waiting job)',
    0,
    0,
    20,
  ),
  BATCH_INTAKE_CHUNK: envVar.int(
    'batch items turned into jobs per step of the intake (progress is saved per step)',
    100,
    1,
    1000,
  ),
  PUBLIC_BASE_URL: envVar
    .url('the API’s public base URL, for the results link in batch webhooks (default: a path)')
    .optional(),
  IMAGE_FETCH_TIMEOUT_MS: envVar.int('time limit for fetching a batch item’s image URL', 10_000, 100, 120_000),
  IMAGE_FETCH_MAX_REDIRECTS: envVar.int('redirects followed when fetching a batch item’s image URL', 3, 0, 10),
  WORKER_CONCURRENCY: envVar.int('jobs run at once by this process (1 per GPU)', 1, 1, 64),
  MAX_RECEIVE_COUNT: envVar.int("the job queue's redrive maxReceiveCount; the last receive fails the job", 5, 1, 1000),
  JOB_VISIBILITY_TIMEOUT_SECONDS: envVar.int(
    'lease per receive, renewed by the heartbeat while a job runs',
    60,
    2,
    43200,
  ),
  RECEIVE_WAIT_SECONDS: envVar.int('SQS long-poll wait', 20, 0, 20),
  RETRY_BASE_SECONDS: envVar.int('first backoff after a retryable job failure (doubles per receive)', 5, 0, 43200),
  RETRY_MAX_SECONDS: envVar.int('cap of the job retry backoff', 900, 0, 43200),
  RUN_TIMEOUT_SECONDS: envVar.number('a running job is aborted and failed with run_timeout after this', 600, 0.1),
  SHUTDOWN_GRACE_SECONDS: envVar.number('on SIGTERM, in-flight jobs may finish within this before release', 30, 0),
  CANCEL_POLL_MS: envVar.int('how often a running job checks for a cancel request', 1000, 50, 60000),
  METRICS_PORT: envVar.int('port of /healthz and /metrics (0 = any free port)', 9464, 0, 65535),
  METRICS_HOST: z.string().default('0.0.0.0').describe('interface the ops server binds'),
  WEBHOOK_CONCURRENCY: envVar.int('webhook deliveries in flight at once', 4, 1, 10),
  WEBHOOK_MAX_ATTEMPTS: envVar.int('delivery attempts per webhook before giving up', 12, 1, 100),
  WEBHOOK_TIMEOUT_SECONDS: envVar.number('time allowed for the receiver to answer one attempt', 15, 0.1, 120),
  WEBHOOK_RETRY_BASE_SECONDS: envVar.number('delay before the 2nd attempt; ×4 per attempt with jitter', 5, 0, 43200),
  WEBHOOK_RETRY_MAX_DELAY_SECONDS: envVar.number('cap of one webhook retry delay', 21600, 1, 7 * 86400),
  WEBHOOK_LEASE_MARGIN_SECONDS: envVar.int(
    'lease on one webhook message beyond WEBHOOK_TIMEOUT_SECONDS (recording the attempt, queueing the next)',
    30,
    1,
    3600,
  ),
  WEBHOOK_RECOVERY_DELAY_SECONDS: envVar.int(
    'delay of the recovery copy of a terminal webhook whose enqueue may have been lost (SQS down at finish)',
    60,
    0,
    900,
  ),
  MODEL_DIR: envVar.string('folder of the converted Yi-VL model').optional(),
  ...modelEnvShape,
});

export type WorkerConfig = z.infer<typeof workerEnvSchema>;

/** Explicit credentials when the config carries them (embedded workers), else undefined: the SDK chain decides. */
/** Parses the environment; throws `ConfigError` naming every missing or invalid variable. */
export function loadWorkerConfig(env: Env): WorkerConfig {
  return parseEnv(workerEnvSchema, env);
}
