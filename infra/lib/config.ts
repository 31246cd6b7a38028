import { z } from 'zod';
import { parseS3Uri } from './s3-uri.ts';

const isS3Uri = (uri: string) => {
  try {
    parseS3Uri(uri);
    return true;
  } catch {
    return false;
  }
};

/**
 * Deployment settings of the CDK app. Every field can be set with `cdk … -c name=value` (context values arrive as
 * strings, so numbers are coerced); anything unset takes the default below.
 */
const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export const DeploymentConfigSchema = z
  .object({
    /** Prefix of resource names, so several stages can share an account. */
    stage: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,20}$/)
      .default('yi-vl'),
    /** Days after which uploaded inputs (`inputs/`) expire. Results, usage and events are kept. */
    inputRetentionDays: int(7, 1, 3650),
    /** Receives of one job message before it moves to the job DLQ (the worker fails the job on the last one). */
    maxReceiveCount: int(5, 1, 1000),
    /** Receives of one webhook delivery message before its DLQ. */
    webhookMaxReceiveCount: int(50, 1, 1000),
    /** Initial lease of a received job; the worker's heartbeat renews it while the job runs. */
    jobVisibilityTimeoutSeconds: int(60, 2, 43_200),
    /** The longest a job may run on a worker (the worker aborts it after this). */
    runTimeoutSeconds: int(600, 1, 43_200),
    /** Days a message may sit in a DLQ for inspection. */
    dlqRetentionDays: int(14, 1, 14),
    /** Container image of the GPU worker (built from infra/docker/Dockerfile and pushed to a registry). */
    workerImage: z.string().min(1).default('public.ecr.aws/example/yi-vl-worker:latest'),
    /** EC2 instance type with one NVIDIA GPU per worker task. */
    gpuInstanceType: z.string().default('g5.xlarge'),
    /** Host memory reserved for one worker task (g5.xlarge has 16 GiB; leave room for the ECS agent and OS). */
    workerMemoryMiB: int(12_288, 1024, 2_000_000),
    /** Root volume of a GPU instance: the image (CUDA layers are large) plus the model copied into MODEL_DIR. */
    gpuRootVolumeGiB: int(100, 30, 16_000),
    /** Workers kept running with an empty queue (0 = scale to zero). */
    minWorkers: int(0, 0, 100),
    maxWorkers: int(4, 1, 100),
    /** Target backlog (queued + in-flight jobs) per worker; capacity = ceil(backlog / jobsPerWorker). */
    jobsPerWorker: int(4, 1, 10_000),
    /** Minutes of an empty queue before the service drops back to `minWorkers`. */
    scaleInAfterIdleMinutes: int(15, 1, 1440),
    /** Alarm when the oldest job has waited this long. */
    oldestJobAgeAlarmSeconds: int(900, 60, 1_209_600),
    /**
     * Alarm when the oldest batch-queue message has waited this long. Batch items wait behind interactive jobs by
     * design, so this is far longer than the job queue's; keep it below the edge's BATCH_COMPLETION_WINDOW_SECONDS
     * (24 h by default), after which waiting items fail.
     */
    oldestBatchAgeAlarmSeconds: int(21_600, 60, 1_209_600),
    /** Alarm when the oldest webhook delivery has waited this long (deliveries retry with backoff). */
    oldestWebhookAgeAlarmSeconds: int(3600, 60, 1_209_600),
    /** Where the converted model lives; the worker pulls it into MODEL_DIR at start. Default: `models/` in the data bucket. */
    modelS3Uri: z.string().refine(isS3Uri, 'must be s3://bucket/prefix/').optional(),
    /** Folder of the pre-built edge bundle (`npm run build:edge` writes dist/edge-lambda). */
    edgeCodePath: z.string().default('dist/edge-lambda'),
    edgeRuntime: z.enum(['nodejs20.x', 'nodejs22.x']).default('nodejs22.x'),
    edgeMemoryMb: int(1024, 128, 10_240),
    /** Reserved concurrency of the edge function (0 = unreserved). */
    edgeReservedConcurrency: int(0, 0, 10_000),
    /** E-mail subscribed to the alarm topic (optional). */
    alarmEmail: z.email().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** CloudWatch Logs retention; one of the values CloudWatch accepts. */
    logRetentionDays: z.coerce
      .number()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), `must be one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(30),
  })
  .refine((c) => c.minWorkers <= c.maxWorkers, {
    message: 'minWorkers must not exceed maxWorkers',
    path: ['minWorkers'],
  });

export type DeploymentConfig = z.infer<typeof DeploymentConfigSchema>;
export type DeploymentConfigInput = z.input<typeof DeploymentConfigSchema>;

export const CONFIG_KEYS = Object.keys(DeploymentConfigSchema.shape) as (keyof DeploymentConfig)[];

/** Reads every known key from a context getter (e.g. `app.node.tryGetContext`) and validates the lot. */
export function configFromContext(get: (key: string) => unknown): DeploymentConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = get(key);
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const res = DeploymentConfigSchema.safeParse(raw);
  if (!res.success) {
    const problems = res.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new Error(`invalid deployment config:\n  ${problems.join('\n  ')}`);
  }
  return res.data;
}
