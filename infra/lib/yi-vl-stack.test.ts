import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { KEY_KINDS } from '../../shared/storage/keys.ts';
import { EDGE_OBJECT_ACCESS, type ObjectAccess, WORKER_OBJECT_ACCESS } from './access.ts';
import { backlogSteps } from './backlog-scaling.ts';
import { type DeploymentConfigInput, DeploymentConfigSchema } from './config.ts';
import { PLACEHOLDER_EDGE_CODE } from './edge-function.ts';
import { DEFAULT_MODEL_PREFIX, YiVlStack } from './yi-vl-stack.ts';

// One synth per configuration, shared by every test in the file (a synth costs seconds).
function synth(input: DeploymentConfigInput) {
  // A fixed small asset: a locally built dist/edge-lambda would otherwise be hashed and staged on every run.
  const config = DeploymentConfigSchema.parse({ edgeCodePath: PLACEHOLDER_EDGE_CODE, ...input });
  const stack = new YiVlStack(new App(), 'Test', { config });
  const template = Template.fromStack(stack);
  return { config, stack, template, json: template.toJSON() as { Resources: Record<string, CfnResource> } };
}
interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
  Condition?: unknown;
}

const base = synth({ inputRetentionDays: 3, maxReceiveCount: 7, maxWorkers: 6, jobsPerWorker: 2 });
const warm = synth({
  stage: 'warm',
  minWorkers: 2,
  maxWorkers: 3,
  modelS3Uri: 's3://model-bucket/yi-vl/6b/',
  workerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/yi-vl-worker:v1',
});

const resourcesOf = (json: typeof base.json, type: string) =>
  Object.entries(json.Resources).filter(([, r]) => r.Type === type);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  base.stack.getLogicalId(construct.node.defaultChild as import('aws-cdk-lib').CfnElement);
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

function statementsOfRole(json: typeof base.json, roleLogicalId: string): Statement[] {
  return resourcesOf(json, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties!.Roles).includes(`"${roleLogicalId}"`))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** `{Fn::Join: ['', [{Fn::GetAtt: [bucket, 'Arn']}, '/jobs/*']]}` → 'jobs/*' for the data bucket. */
function objectPatterns(statements: Statement[], action: string, bucketId: string): string[] {
  return statements
    .filter((s) => list(s.Action).includes(action))
    .flatMap((s) => list(s.Resource))
    .map((r) => JSON.stringify(r))
    .filter((r) => r.includes(`"${bucketId}"`))
    .map((r) => /"\/([^"]*)"\]\]\}$/.exec(r)?.[1] ?? `(unscoped: ${r})`)
    .sort();
}
const expected = (kinds: readonly string[]) => kinds.map((k) => `${k}/*`).sort();

describe('YiVlStack (CDK synth)', () => {
  test('has the data plane, edge, GPU service and alarms', () => {
    const t = base.template;
    t.resourceCountIs('AWS::S3::Bucket', 1);
    t.resourceCountIs('AWS::SQS::Queue', 5);
    t.resourceCountIs('AWS::Lambda::Url', 1);
    t.resourceCountIs('AWS::ECS::Service', 1);
    t.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    t.resourceCountIs('AWS::SecretsManager::Secret', 2);
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('GPU capacity: IMDSv2 only, instances protected while running tasks, no inbound rules', () => {
    const t = base.template;
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: { HttpPutResponseHopLimit: 1, HttpTokens: 'required' } }),
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { NewInstancesProtectedFromScaleIn: true });
    t.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({ ManagedTerminationProtection: 'ENABLED' }),
    });
    for (const [, sg] of resourcesOf(base.json, 'AWS::EC2::SecurityGroup')) {
      assert.equal(sg.Properties!.SecurityGroupIngress, undefined);
    }
  });

  test('bucket: public access blocked, encrypted, TLS-only policy, retained', () => {
    const t = base.template;
    t.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('lifecycle expires inputs/ after the configured days and expires nothing else', () => {
    const [, bucket] = resourcesOf(base.json, 'AWS::S3::Bucket')[0]!;
    const rules = (bucket.Properties!.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined || r.ExpirationDate !== undefined);
    assert.deepEqual(
      expiring.map((r) => [r.Prefix, r.ExpirationInDays]),
      [['inputs/', 3]],
    );
    for (const rule of rules.filter((r) => !expiring.includes(r))) {
      assert.deepEqual(Object.keys(rule).sort(), ['AbortIncompleteMultipartUpload', 'Id', 'Status']);
    }
  });

  test('queues redrive to their DLQs with the configured maxReceiveCount, SSE and TLS only', () => {
    const t = base.template;
    const q = base.stack.queues;
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'yi-vl-jobs',
      RedrivePolicy: { maxReceiveCount: 7, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(q.jobDlq), 'Arn'] } },
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'yi-vl-webhooks',
      RedrivePolicy: { maxReceiveCount: 50, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(q.webhookDlq), 'Arn'] } },
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'yi-vl-jobs-batch',
      RedrivePolicy: { maxReceiveCount: 7, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(q.jobDlq), 'Arn'] } },
      MessageRetentionPeriod: 14 * 86_400,
    });
    t.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'yi-vl-jobs-dlq',
      RedriveAllowPolicy: Match.objectLike({ redrivePermission: 'byQueue' }),
    });
    // The job DLQ accepts dead letters from both the job queue and the batch queue, and from nothing else.
    const [, jobDlq] = resourcesOf(base.json, 'AWS::SQS::Queue').find(([id]) => id === logicalId(q.jobDlq))!;
    const sources = JSON.stringify(
      (jobDlq.Properties!.RedriveAllowPolicy as { sourceQueueArns: unknown[] }).sourceQueueArns,
    );
    assert.match(sources, /:yi-vl-jobs"/);
    assert.match(sources, /:yi-vl-jobs-batch"/);
    assert.equal((jobDlq.Properties!.RedriveAllowPolicy as { sourceQueueArns: unknown[] }).sourceQueueArns.length, 2);
    for (const [, queue] of resourcesOf(base.json, 'AWS::SQS::Queue')) {
      assert.equal(queue.Properties!.SqsManagedSseEnabled, true);
    }
    const policies = resourcesOf(base.json, 'AWS::SQS::QueuePolicy');
    assert.equal(policies.length, 5);
    for (const [, policy] of policies) {
      assert.match(JSON.stringify(policy.Properties!.PolicyDocument), /"aws:SecureTransport":"false"/);
    }
  });

  test('no IAM statement grants s3:/sqs: actions on a * resource or with a wildcard action', () => {
    const statements = resourcesOf(base.json, 'AWS::IAM::Policy').flatMap(
      ([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    const data = statements.filter((s) => list(s.Action).some((a) => /^(s3|sqs):/.test(a)));
    assert.ok(data.length >= 8, 'expected the edge and worker data statements');
    for (const s of data) {
      assert.ok(
        list(s.Action).every((a) => !a.includes('*')),
        `wildcard action: ${JSON.stringify(s.Action)}`,
      );
      for (const r of list(s.Resource)) {
        assert.notEqual(r, '*', `statement ${s.Sid ?? JSON.stringify(s.Action)} has a * resource`);
        // An object grant must be scoped to a key kind, never the whole bucket ("<arn>/*").
        assert.doesNotMatch(JSON.stringify(r), /"\/\*"\]\]\}$/, `bucket-wide object grant in ${s.Sid}`);
      }
    }
  });

  for (const [who, access, roleOf, extraReads] of [
    ['edge', EDGE_OBJECT_ACCESS, () => base.stack.edge.fn.role!, []],
    ['worker', WORKER_OBJECT_ACCESS, () => base.stack.workers.taskDefinition.taskRole, [`${DEFAULT_MODEL_PREFIX}*`]],
  ] as [string, ObjectAccess, () => import('aws-cdk-lib/aws-iam').IRole, string[]][]) {
    test(`${who} role gets exactly its key kinds`, () => {
      const statements = statementsOfRole(base.json, logicalId(roleOf()));
      const bucketId = logicalId(base.stack.data.bucket);
      assert.deepEqual(
        objectPatterns(statements, 's3:GetObject', bucketId),
        [...expected(access.read), ...extraReads].sort(),
      );
      assert.deepEqual(objectPatterns(statements, 's3:PutObject', bucketId), expected(access.write));
      assert.deepEqual(objectPatterns(statements, 's3:DeleteObject', bucketId), expected(access.delete));
    });
  }

  test('access table: the edge never writes usage; both read and write batches and their files', () => {
    assert.ok(!EDGE_OBJECT_ACCESS.write.includes('usage'));
    for (const access of [EDGE_OBJECT_ACCESS, WORKER_OBJECT_ACCESS]) {
      for (const kind of ['batches', 'batch-files'] as const) {
        assert.ok(access.read.includes(kind) && access.write.includes(kind), kind);
        assert.ok(!access.delete.includes(kind), `${kind} is never deleted`);
      }
    }
    // Only what the worker itself stores for batch items (the image it prepares) may it write or delete under inputs/.
    assert.ok(WORKER_OBJECT_ACCESS.write.includes('inputs') && !WORKER_OBJECT_ACCESS.write.includes('idempotency'));
    for (const kind of [...EDGE_OBJECT_ACCESS.read, ...WORKER_OBJECT_ACCESS.write]) assert.ok(KEY_KINDS.includes(kind));
  });

  test('queue permissions: edge sends and reads depth; worker consumes jobs, batches and the DLQ, sends webhooks', () => {
    const q = base.stack.queues;
    const arn = (queue: typeof q.jobQueue) => JSON.stringify({ 'Fn::GetAtt': [logicalId(queue), 'Arn'] });
    const actionsOn = (statements: Statement[], queue: typeof q.jobQueue) =>
      [
        ...new Set(
          statements
            .filter((s) => list(s.Resource).some((r) => JSON.stringify(r) === arn(queue)))
            .flatMap((s) => list(s.Action)),
        ),
      ].sort();
    const edge = statementsOfRole(base.json, logicalId(base.stack.edge.fn.role!));
    const worker = statementsOfRole(base.json, logicalId(base.stack.workers.taskDefinition.taskRole));
    assert.deepEqual(actionsOn(edge, q.jobQueue), ['sqs:GetQueueAttributes', 'sqs:SendMessage']);
    assert.deepEqual(actionsOn(edge, q.webhookQueue), ['sqs:SendMessage']);
    assert.deepEqual(actionsOn(edge, q.jobDlq), []);
    assert.ok(!actionsOn(worker, q.jobQueue).includes('sqs:SendMessage'));
    assert.ok(actionsOn(worker, q.jobDlq).includes('sqs:ReceiveMessage'));
    assert.ok(actionsOn(worker, q.webhookQueue).includes('sqs:SendMessage'));
    assert.deepEqual(actionsOn(worker, q.webhookDlq), []);
    assert.deepEqual(actionsOn(edge, q.batchQueue), ['sqs:SendMessage']);
    assert.deepEqual(actionsOn(worker, q.batchQueue), [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ]);
  });

  test('edge: Lambda on Node 22 behind a Function URL; secrets referenced by ARN, never inlined', () => {
    const t = base.template;
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    const [, fn] = resourcesOf(base.json, 'AWS::Lambda::Function')[0]!;
    assert.equal(fn.Properties!.Runtime, 'nodejs22.x');
    const env = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(env.API_KEYS_SECRET_ARN, { Ref: logicalId(base.stack.apiKeys) });
    assert.deepEqual(env.WEBHOOK_SIGNING_KEY_SECRET_ARN, { Ref: logicalId(base.stack.webhookSigningKey) });
    assert.equal(env.API_KEYS, undefined);
    assert.equal(env.WEBHOOK_SIGNING_KEY, undefined);
    assert.doesNotMatch(JSON.stringify(base.json), /resolve:secretsmanager/);
    assert.ok(['S3_BUCKET', 'JOB_QUEUE_URL', 'WEBHOOK_QUEUE_URL'].every((k) => k in env));
    assert.deepEqual(env.BATCH_QUEUE_URL, { Ref: logicalId(base.stack.queues.batchQueue) });
  });

  test('worker task: one GPU, secret from Secrets Manager, health check, redrive count shared with the queue', () => {
    const [, task] = resourcesOf(base.json, 'AWS::ECS::TaskDefinition')[0]!;
    const container = (task.Properties!.ContainerDefinitions as Record<string, unknown>[])[0]!;
    assert.deepEqual(container.ResourceRequirements, [{ Type: 'GPU', Value: '1' }]);
    assert.deepEqual(container.Secrets, [
      { Name: 'WEBHOOK_SIGNING_KEY', ValueFrom: { Ref: logicalId(base.stack.webhookSigningKey) } },
    ]);
    assert.match(JSON.stringify(container.HealthCheck), /\/healthz/);
    const env = Object.fromEntries(
      (container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
    );
    assert.equal(env.MAX_RECEIVE_COUNT, '7');
    assert.ok(Number(env.SHUTDOWN_GRACE_SECONDS) < Number(container.StopTimeout));
    assert.ok('JOB_DLQ_URL' in env && 'MODEL_S3_URI' in env && 'MODEL_DIR' in env);
    assert.deepEqual(env.BATCH_QUEUE_URL, { Ref: logicalId(base.stack.queues.batchQueue) });
  });

  test('scales on backlog per worker from zero, with a step per capacity', () => {
    const t = base.template;
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 6,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '6' });
    const policies = resourcesOf(base.json, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(
      ([, p]) => p.Properties!.StepScalingPolicyConfiguration as Record<string, unknown>,
    );
    assert.ok(policies.every((p) => p.AdjustmentType === 'ExactCapacity'));
    const out = policies.find((p) => (p.StepAdjustments as unknown[]).length > 1)!;
    const steps = backlogSteps({ jobsPerWorker: 2, minWorkers: 0, maxWorkers: 6 });
    assert.deepEqual(
      (out.StepAdjustments as Record<string, number>[]).map((s) => s.ScalingAdjustment),
      steps.map((s) => s.capacity),
    );
    assert.deepEqual(policies.find((p) => p !== out)?.StepAdjustments, [
      { MetricIntervalUpperBound: 0, ScalingAdjustment: 0 },
    ]);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression:
            'FILL(jobs_visible, 0) + FILL(jobs_inflight, 0) + FILL(batch_visible, 0) + FILL(batch_inflight, 0)',
        }),
      ]),
    });
    // The backlog reads both queues' visible and in-flight counts.
    const [, backlogAlarm] = resourcesOf(base.json, 'AWS::CloudWatch::Alarm').find(([, a]) =>
      JSON.stringify(a.Properties!.Metrics ?? []).includes('FILL('),
    )!;
    const q = base.stack.queues;
    for (const queue of [q.jobQueue, q.batchQueue]) {
      const on = JSON.stringify(backlogAlarm.Properties!.Metrics).split(`"${logicalId(queue)}"`).length - 1;
      assert.equal(on, 2, 'visible and in-flight of each queue');
    }
  });

  test('alarms on both DLQs and on the oldest message of the job, batch and webhook queues', () => {
    const alarms = resourcesOf(base.json, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties ?? {});
    const on = (metric: string, queue: { node: { defaultChild?: unknown } }) =>
      alarms.filter((a) => a.MetricName === metric && JSON.stringify(a.Dimensions).includes(`"${logicalId(queue)}"`))
        .length;
    const q = base.stack.queues;
    assert.equal(on('ApproximateNumberOfMessagesVisible', q.jobDlq), 1);
    assert.equal(on('ApproximateNumberOfMessagesVisible', q.webhookDlq), 1);
    assert.equal(on('ApproximateAgeOfOldestMessage', q.jobQueue), 1);
    assert.equal(on('ApproximateAgeOfOldestMessage', q.webhookQueue), 1);
    assert.equal(on('ApproximateAgeOfOldestMessage', q.batchQueue), 1);
    const threshold = (queue: typeof q.jobQueue) =>
      alarms.find(
        (a) =>
          a.MetricName === 'ApproximateAgeOfOldestMessage' &&
          JSON.stringify(a.Dimensions).includes(`"${logicalId(queue)}"`),
      )!.Threshold as number;
    assert.ok(threshold(q.batchQueue) > threshold(q.jobQueue), 'batch items wait longer by design');
    assert.ok(alarms.filter((a) => a.MetricName).every((a) => (a.AlarmActions as unknown[]).length === 1));
  });

  test('a private ECR worker image: the execution role may pull that repository only', () => {
    const exec = statementsOfRole(
      warm.json,
      warm.stack.getLogicalId(
        warm.stack.workers.taskDefinition.executionRole!.node.defaultChild as import('aws-cdk-lib').CfnElement,
      ),
    );
    const pull = exec.find((s) => list(s.Action).includes('ecr:BatchGetImage'));
    assert.match(JSON.stringify(pull?.Resource), /:ecr:eu-west-1:123456789012:repository\/yi-vl-worker/);
    const [, task] = resourcesOf(warm.json, 'AWS::ECS::TaskDefinition')[0]!;
    assert.match(JSON.stringify(task.Properties), /yi-vl-worker:v1/);
  });

  test('warm minimum and an external model bucket', () => {
    const t = warm.template;
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 3 });
    t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: Match.objectLike({
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 2 }],
      }),
    });
    const worker = statementsOfRole(
      warm.json,
      warm.stack.getLogicalId(
        warm.stack.workers.taskDefinition.taskRole.node.defaultChild as import('aws-cdk-lib').CfnElement,
      ),
    );
    const model = worker.filter((s) => s.Sid === 'ReadModel' || s.Sid === 'ListModel');
    assert.match(JSON.stringify(model), /:::model-bucket\/yi-vl\/6b\/\*/);
    assert.match(JSON.stringify(model), /"s3:prefix":\["yi-vl\/6b\/\*"\]/);
  });
});
