/**
 * The one way every deployable (the edge on Node, Lambda and Workers; the worker) builds its storage and queue
 * clients: from its parsed configuration, never from raw variables. Static credentials are used when the config
 * carries them (embedded use and Workers, where there is no credential chain); otherwise the SDK's default chain.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ConditionalWriteMode } from '../ports/object-store.ts';
import { createS3Client, S3ObjectStore } from './s3-object-store.ts';
import { createSqsClient, SqsJobQueue } from './sqs-job-queue.ts';

/** The storage and queue part of a parsed config (`awsEnvShape` in shared/config/env.ts). */
export interface AwsConfig {
  AWS_REGION: string;
  AWS_ENDPOINT_URL_S3?: string | undefined;
  AWS_ENDPOINT_URL_SQS?: string | undefined;
  AWS_ACCESS_KEY_ID?: string | undefined;
  AWS_SECRET_ACCESS_KEY?: string | undefined;
  AWS_SESSION_TOKEN?: string | undefined;
  S3_BUCKET: string;
  S3_FORCE_PATH_STYLE: boolean;
  S3_CONDITIONAL_WRITES: ConditionalWriteMode;
}

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  store: S3ObjectStore;
  /** A queue port on the shared SQS client. */
  queue(url: string): SqsJobQueue;
  /** Closes both clients' connection pools. */
  destroy(): void;
}

export function createAwsClients(config: AwsConfig): AwsClients {
  const credentials =
    config.AWS_ACCESS_KEY_ID && config.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: config.AWS_ACCESS_KEY_ID,
            secretAccessKey: config.AWS_SECRET_ACCESS_KEY,
            ...(config.AWS_SESSION_TOKEN ? { sessionToken: config.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {};
  const s3 = createS3Client({
    ...credentials,
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL_S3 ? { endpoint: config.AWS_ENDPOINT_URL_S3 } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  const sqs = createSqsClient({
    ...credentials,
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL_SQS ? { endpoint: config.AWS_ENDPOINT_URL_SQS } : {}),
  });
  return {
    s3,
    sqs,
    store: new S3ObjectStore({ bucket: config.S3_BUCKET, client: s3, conditionalWrites: config.S3_CONDITIONAL_WRITES }),
    queue: (url) => new SqsJobQueue(sqs, url),
    destroy() {
      s3.destroy();
      sqs.destroy();
    },
  };
}
