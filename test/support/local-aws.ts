/**
 * Test harness: real S3- and SQS-compatible servers on loopback (free ports, data in a temp dir), driven through the
 * real AWS SDK v3 clients via the project's adapters. Every integration suite starts its own with `startLocalAws()`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type ProvisionedQueues, provisionQueues, type QueueSettings } from '../../scripts/local-services/provision.ts';
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from '../../scripts/local-services/s3-server.ts';
import { type LocalSqs, startLocalSqs } from '../../scripts/local-services/sqs-server.ts';
import { createS3Client, S3ObjectStore } from '../../shared/aws/s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from '../../shared/aws/sqs-job-queue.ts';
import type { ConditionalWriteMode } from '../../shared/ports/object-store.ts';

export interface LocalAwsOptions extends QueueSettings {
  /** Plain s3rver without conditional-write support (exercises the emulated fallback). */
  plainS3?: boolean;
  bucket?: string;
}

export interface LocalAws {
  s3: LocalS3;
  sqs: LocalSqs;
  s3Client: S3Client;
  sqsClient: SQSClient;
  bucket: string;
  store: S3ObjectStore;
  jobQueue: SqsJobQueue;
  jobDlq: SqsJobQueue;
  batchQueue: SqsJobQueue;
  webhookQueue: SqsJobQueue;
  webhookDlq: SqsJobQueue;
  queues: ProvisionedQueues;
  dataDir: string;
  /** Environment variables pointing a deployable (edge, worker) at these servers. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const dataDir = await mkdtemp(join(tmpdir(), 'yi-vl-test-'));
  const bucket = options.bucket ?? 'yi-vl-test';
  const s3 = await startLocalS3({ directory: dataDir, buckets: [bucket], plain: options.plainS3 ?? false });
  const sqs = await startLocalSqs();
  const region = 'us-east-1';
  const conditionalWrites: ConditionalWriteMode = options.plainS3 ? 'emulated' : 'native';
  const s3Client = createS3Client({
    region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: LOCAL_S3_CREDENTIALS,
  });
  const sqsClient = createSqsClient({ region, endpoint: sqs.endpoint, credentials: LOCAL_S3_CREDENTIALS });
  const queues = await provisionQueues(sqsClient, undefined, options);
  const store = new S3ObjectStore({ bucket, client: s3Client, conditionalWrites });
  return {
    s3,
    sqs,
    s3Client,
    sqsClient,
    bucket,
    store,
    jobQueue: new SqsJobQueue(sqsClient, queues.jobQueueUrl),
    jobDlq: new SqsJobQueue(sqsClient, queues.jobDlqUrl),
    batchQueue: new SqsJobQueue(sqsClient, queues.batchQueueUrl),
    webhookQueue: new SqsJobQueue(sqsClient, queues.webhookQueueUrl),
    webhookDlq: new SqsJobQueue(sqsClient, queues.webhookDlqUrl),
    queues,
    dataDir,
    env: {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      S3_BUCKET: bucket,
      S3_FORCE_PATH_STYLE: 'true',
      S3_CONDITIONAL_WRITES: conditionalWrites,
      JOB_QUEUE_URL: queues.jobQueueUrl,
      BATCH_QUEUE_URL: queues.batchQueueUrl,
      WEBHOOK_QUEUE_URL: queues.webhookQueueUrl,
    },
    async close() {
      s3Client.destroy();
      sqsClient.destroy();
      await Promise.allSettled([s3.close(), sqs.close()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
