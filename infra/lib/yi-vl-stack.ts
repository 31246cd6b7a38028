import { Arn, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type DataPlane, edgeStatements, type ModelLocation, workerStatements } from './access.ts';
import type { DeploymentConfig } from './config.ts';
import { DataBucket } from './data-bucket.ts';
import { EdgeFunction } from './edge-function.ts';
import { GpuWorkers } from './gpu-workers.ts';
import { QueueAlarms } from './queue-alarms.ts';
import { JobQueues } from './queues.ts';
import { parseS3Uri } from './s3-uri.ts';

export const DEFAULT_MODEL_PREFIX = 'models/yi-vl-6b/';
export const WORKER_MODEL_DIR = '/models/yi-vl';

export interface YiVlStackProps extends StackProps {
  config: DeploymentConfig;
}

/**
 * Everything for one deployment: data bucket, queues, secrets, the edge on Lambda, the GPU workers on ECS, alarms.
 */
export class YiVlStack extends Stack {
  readonly data: DataBucket;
  readonly queues: JobQueues;
  readonly edge: EdgeFunction;
  readonly workers: GpuWorkers;
  readonly alarms: QueueAlarms;
  readonly webhookSigningKey: secretsmanager.Secret;
  readonly apiKeys: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: YiVlStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.data = new DataBucket(this, 'Data', { inputRetentionDays: c.inputRetentionDays });
    this.queues = new JobQueues(this, 'Queues', c);
    const plane: DataPlane = {
      bucket: this.data.bucket,
      jobQueue: this.queues.jobQueue,
      jobDlq: this.queues.jobDlq,
      batchQueue: this.queues.batchQueue,
      webhookQueue: this.queues.webhookQueue,
    };

    this.webhookSigningKey = new secretsmanager.Secret(this, 'WebhookSigningKey', {
      secretName: `${c.stage}/webhook-signing-key`,
      description: 'Master key from which each API key’s webhook signing secret is derived',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    this.apiKeys = new secretsmanager.Secret(this, 'ApiKeys', {
      secretName: `${c.stage}/api-keys`,
      description: 'API_KEYS: key_id:tenant:sha256hex entries, comma-separated (see docs/deploy.md)',
    });

    const model = c.modelS3Uri ? parseS3Uri(c.modelS3Uri) : undefined;
    const modelLocation: ModelLocation = model
      ? {
          bucketArn: Arn.format({ service: 's3', region: '', account: '', resource: model.bucket }, this),
          prefix: model.prefix,
        }
      : { bucketArn: this.data.bucket.bucketArn, prefix: DEFAULT_MODEL_PREFIX };
    const modelUri = c.modelS3Uri ?? `s3://${this.data.bucket.bucketName}/${DEFAULT_MODEL_PREFIX}`;

    const shared = {
      S3_BUCKET: this.data.bucket.bucketName,
      S3_CONDITIONAL_WRITES: 'native',
      JOB_QUEUE_URL: this.queues.jobQueue.queueUrl,
      BATCH_QUEUE_URL: this.queues.batchQueue.queueUrl,
      WEBHOOK_QUEUE_URL: this.queues.webhookQueue.queueUrl,
      LOG_LEVEL: c.logLevel,
    };
    this.edge = new EdgeFunction(this, 'Edge', {
      stage: c.stage,
      codePath: c.edgeCodePath,
      runtime: c.edgeRuntime,
      memoryMb: c.edgeMemoryMb,
      reservedConcurrency: c.edgeReservedConcurrency,
      logRetentionDays: c.logRetentionDays,
      environment: shared,
      secrets: { API_KEYS: this.apiKeys, WEBHOOK_SIGNING_KEY: this.webhookSigningKey },
      statements: edgeStatements(plane),
    });
    this.workers = new GpuWorkers(this, 'Workers', {
      stage: c.stage,
      image: c.workerImage,
      instanceType: c.gpuInstanceType,
      rootVolumeGiB: c.gpuRootVolumeGiB,
      memoryMiB: c.workerMemoryMiB,
      minWorkers: c.minWorkers,
      maxWorkers: c.maxWorkers,
      jobsPerWorker: c.jobsPerWorker,
      scaleInAfterIdleMinutes: c.scaleInAfterIdleMinutes,
      logRetentionDays: c.logRetentionDays,
      jobQueue: this.queues.jobQueue,
      batchQueue: this.queues.batchQueue,
      environment: {
        ...shared,
        JOB_DLQ_URL: this.queues.jobDlq.queueUrl,
        MAX_RECEIVE_COUNT: String(c.maxReceiveCount),
        JOB_VISIBILITY_TIMEOUT_SECONDS: String(c.jobVisibilityTimeoutSeconds),
        RUN_TIMEOUT_SECONDS: String(c.runTimeoutSeconds),
        MODEL_DIR: WORKER_MODEL_DIR,
        MODEL_S3_URI: modelUri,
      },
      secrets: { WEBHOOK_SIGNING_KEY: this.webhookSigningKey },
      statements: workerStatements(plane, modelLocation),
    });
    this.alarms = new QueueAlarms(this, 'Alarms', { ...this.queues, ...c });

    new CfnOutput(this, 'BucketName', { value: this.data.bucket.bucketName });
    new CfnOutput(this, 'JobQueueUrl', { value: this.queues.jobQueue.queueUrl });
    new CfnOutput(this, 'BatchQueueUrl', { value: this.queues.batchQueue.queueUrl });
    new CfnOutput(this, 'WebhookQueueUrl', { value: this.queues.webhookQueue.queueUrl });
    new CfnOutput(this, 'ApiKeysSecretArn', { value: this.apiKeys.secretArn });
    new CfnOutput(this, 'ModelS3Uri', { value: modelUri });
  }
}
