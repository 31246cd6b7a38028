/**
 * Prints the edge's and the worker's least-privilege IAM policies as plain JSON, for deployments outside the CDK
 * stack (an IRSA role for infra/k8s, an IAM user for a Cloudflare Workers edge or a standalone GPU host). Same table
 * as the stack (infra/lib/access.ts).
 *
 *   tsx infra/scripts/policies.ts --account 123456789012 --region us-east-1 --bucket my-bucket [--stage yi-vl]
 *     [--model-uri s3://models/yi-vl-6b/] [--partition aws]
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { type DataPlane, edgeStatements, workerStatements } from '../lib/access.ts';
import { parseS3Uri } from '../lib/s3-uri.ts';
import { DEFAULT_MODEL_PREFIX } from '../lib/yi-vl-stack.ts';

export interface PolicyTarget {
  account: string;
  region: string;
  bucket: string;
  stage?: string;
  modelUri?: string;
  partition?: string;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Record<string, unknown>[];
}

export function policiesFor(target: PolicyTarget): { edge: PolicyDocument; worker: PolicyDocument } {
  if (!/^\d{12}$/.test(target.account)) throw new Error('account must be a 12-digit AWS account id');
  const partition = target.partition ?? 'aws';
  const stage = target.stage ?? 'yi-vl';
  const stack = new Stack(new App(), 'Policies', { env: { account: target.account, region: target.region } });
  const queue = (name: string) =>
    sqs.Queue.fromQueueArn(stack, name, `arn:${partition}:sqs:${target.region}:${target.account}:${name}`);
  const bucket = s3.Bucket.fromBucketArn(stack, 'Bucket', `arn:${partition}:s3:::${target.bucket}`);
  const plane: DataPlane = {
    bucket,
    jobQueue: queue(`${stage}-jobs`),
    jobDlq: queue(`${stage}-jobs-dlq`),
    batchQueue: queue(`${stage}-jobs-batch`),
    webhookQueue: queue(`${stage}-webhooks`),
  };
  const model = target.modelUri ? parseS3Uri(target.modelUri) : { bucket: target.bucket, prefix: DEFAULT_MODEL_PREFIX };
  const doc = (statements: iam.PolicyStatement[]): PolicyDocument => ({
    Version: '2012-10-17',
    Statement: statements.map((s) => stack.resolve(s.toStatementJson()) as Record<string, unknown>),
  });
  return {
    edge: doc(edgeStatements(plane)),
    worker: doc(workerStatements(plane, { bucketArn: `arn:${partition}:s3:::${model.bucket}`, prefix: model.prefix })),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      account: { type: 'string' },
      region: { type: 'string' },
      bucket: { type: 'string' },
      stage: { type: 'string' },
      'model-uri': { type: 'string' },
      partition: { type: 'string' },
    },
  });
  if (!values.account || !values.region || !values.bucket) {
    console.error('usage: policies.ts --account <id> --region <region> --bucket <name> [--stage] [--model-uri]');
    process.exit(2);
  }
  const docs = policiesFor({
    account: values.account,
    region: values.region,
    bucket: values.bucket,
    stage: values.stage,
    modelUri: values['model-uri'],
    partition: values.partition,
  });
  console.log(JSON.stringify(docs, null, 2));
}
