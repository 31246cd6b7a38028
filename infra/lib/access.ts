import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { KeyKind } from '../../shared/storage/keys.ts';

/**
 * Who may touch which key kinds and queues. Both deployables' roles are built from this table, and the tests
 * check the synthesised policies against it, so a change here is a reviewed change of the data boundary.
 * HEAD needs s3:GetObject; conditional PUTs (If-None-Match / If-Match) need only s3:PutObject.
 */
export interface ObjectAccess {
  read: readonly KeyKind[];
  write: readonly KeyKind[];
  delete: readonly KeyKind[];
}

export const EDGE_OBJECT_ACCESS: ObjectAccess = {
  read: ['inputs', 'jobs', 'idempotency', 'usage', 'events', 'cancel', 'batches', 'batch-files'],
  write: ['inputs', 'jobs', 'idempotency', 'events', 'cancel', 'batches', 'batch-files'],
  // An idempotency claim whose request failed is released so that a retry can proceed.
  delete: ['idempotency'],
};

export const WORKER_OBJECT_ACCESS: ObjectAccess = {
  read: ['inputs', 'cancel', 'jobs', 'usage', 'batches', 'batch-files'],
  // `inputs`: a batch item's image is stored and prepared by the worker (the batch intake stores a data: URL's
  // bytes, the item's run writes the 448×448 model input); `batches`/`batch-files`: item states, the results file.
  write: ['inputs', 'jobs', 'usage', 'events', 'batches', 'batch-files'],
  // A usage record written before a lost job-record race is withdrawn; a batch item's stored upload once prepared.
  delete: ['usage', 'inputs'],
};

export const QUEUE_ACTIONS = {
  send: ['sqs:SendMessage'],
  consume: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
  depth: ['sqs:GetQueueAttributes'],
} as const;

export interface DataPlane {
  bucket: s3.IBucket;
  jobQueue: sqs.IQueue;
  jobDlq: sqs.IQueue;
  batchQueue: sqs.IQueue;
  webhookQueue: sqs.IQueue;
}

function objectStatements(bucket: s3.IBucket, access: ObjectAccess): iam.PolicyStatement[] {
  const arns = (kinds: readonly KeyKind[]) => kinds.map((kind) => bucket.arnForObjects(`${kind}/*`));
  const statements = [
    new iam.PolicyStatement({ sid: 'ReadObjects', actions: ['s3:GetObject'], resources: arns(access.read) }),
    new iam.PolicyStatement({ sid: 'WriteObjects', actions: ['s3:PutObject'], resources: arns(access.write) }),
    // Without ListBucket, S3 answers a GET/HEAD of a missing key with 403 instead of 404, and the store adapters
    // read "not found" as a normal outcome (idempotency lookups, cancel markers). Listing reveals only key names.
    new iam.PolicyStatement({ sid: 'ListBucket', actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  ];
  if (access.delete.length > 0) {
    statements.push(
      new iam.PolicyStatement({ sid: 'DeleteObjects', actions: ['s3:DeleteObject'], resources: arns(access.delete) }),
    );
  }
  return statements;
}

export function edgeStatements(plane: DataPlane): iam.PolicyStatement[] {
  return [
    ...objectStatements(plane.bucket, EDGE_OBJECT_ACCESS),
    new iam.PolicyStatement({
      sid: 'EnqueueJobsBatchesAndWebhooks',
      actions: [...QUEUE_ACTIONS.send],
      resources: [plane.jobQueue.queueArn, plane.batchQueue.queueArn, plane.webhookQueue.queueArn],
    }),
    // Backpressure: the edge answers 429 when the job queue is deeper than MAX_QUEUE_DEPTH.
    new iam.PolicyStatement({
      sid: 'ReadJobQueueDepth',
      actions: [...QUEUE_ACTIONS.depth],
      resources: [plane.jobQueue.queueArn],
    }),
  ];
}

export interface ModelLocation {
  bucketArn: string;
  prefix: string;
}

export function workerStatements(plane: DataPlane, model: ModelLocation): iam.PolicyStatement[] {
  const modelPrefix = model.prefix.replace(/^\/+/, '');
  return [
    ...objectStatements(plane.bucket, WORKER_OBJECT_ACCESS),
    new iam.PolicyStatement({
      sid: 'ConsumeJobsAndSweepDeadLetters',
      actions: [...QUEUE_ACTIONS.consume],
      resources: [plane.jobQueue.queueArn, plane.jobDlq.queueArn],
    }),
    // The batch intake sends the items' job messages (and its own continuation) onto the queue it consumes.
    new iam.PolicyStatement({
      sid: 'ConsumeAndFeedBatches',
      actions: [...QUEUE_ACTIONS.send, ...QUEUE_ACTIONS.consume],
      resources: [plane.batchQueue.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'DeliverWebhooks',
      actions: [...QUEUE_ACTIONS.send, ...QUEUE_ACTIONS.consume],
      resources: [plane.webhookQueue.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'ReadModel',
      actions: ['s3:GetObject'],
      resources: [`${model.bucketArn}/${modelPrefix}*`],
    }),
    new iam.PolicyStatement({
      sid: 'ListModel',
      actions: ['s3:ListBucket'],
      resources: [model.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${modelPrefix}*`] } },
    }),
  ];
}
