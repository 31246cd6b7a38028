import { Duration, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface JobQueuesProps {
  stage: string;
  maxReceiveCount: number;
  webhookMaxReceiveCount: number;
  jobVisibilityTimeoutSeconds: number;
  dlqRetentionDays: number;
}

/**
 * The job queue and the webhook delivery queue, each with a dead-letter queue (redrive after `maxReceiveCount`),
 * SSE-SQS encryption and a TLS-only queue policy, and the batch queue (each batch's intake message and its items' job
 * messages, taken by workers only when the job queue is empty), which dead-letters into the job DLQ: the DLQ sweeper
 * fails a job whichever queue it came from. Names follow scripts/local-services/provision.ts.
 */
export class JobQueues extends Construct {
  readonly jobQueue: sqs.Queue;
  readonly jobDlq: sqs.Queue;
  readonly batchQueue: sqs.Queue;
  readonly webhookQueue: sqs.Queue;
  readonly webhookDlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: JobQueuesProps) {
    super(scope, id);
    const common = { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;
    const dlq = (name: string) =>
      new sqs.Queue(this, name, {
        ...common,
        queueName: `${props.stage}-${name === 'JobDlq' ? 'jobs' : 'webhooks'}-dlq`,
        retentionPeriod: Duration.days(props.dlqRetentionDays),
      });
    this.jobDlq = dlq('JobDlq');
    this.webhookDlq = dlq('WebhookDlq');
    this.jobQueue = new sqs.Queue(this, 'JobQueue', {
      ...common,
      queueName: `${props.stage}-jobs`,
      visibilityTimeout: Duration.seconds(props.jobVisibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      // Long polling on the queue itself, so every consumer gets it even without WaitTimeSeconds.
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.jobDlq, maxReceiveCount: props.maxReceiveCount },
    });
    this.batchQueue = new sqs.Queue(this, 'BatchQueue', {
      ...common,
      queueName: `${props.stage}-jobs-batch`,
      visibilityTimeout: Duration.seconds(props.jobVisibilityTimeoutSeconds),
      // Batch items may wait behind interactive traffic for their whole completion window (up to 14 days).
      retentionPeriod: Duration.days(14),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.jobDlq, maxReceiveCount: props.maxReceiveCount },
    });
    this.webhookQueue = new sqs.Queue(this, 'WebhookQueue', {
      ...common,
      queueName: `${props.stage}-webhooks`,
      visibilityTimeout: Duration.seconds(60),
      retentionPeriod: Duration.days(4),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.webhookDlq, maxReceiveCount: props.webhookMaxReceiveCount },
    });
    for (const [sources, target] of [
      [[`${props.stage}-jobs`, `${props.stage}-jobs-batch`], this.jobDlq],
      [[`${props.stage}-webhooks`], this.webhookDlq],
    ] as const) {
      // Only its own source queues may dead-letter into a DLQ. The ARNs are built from the names: referencing the
      // source queues' attributes would make a cycle (their redrive policies already reference the DLQ).
      const cfn = target.node.defaultChild as sqs.CfnQueue;
      const sourceQueueArns = sources.map((resource) => Stack.of(this).formatArn({ service: 'sqs', resource }));
      cfn.redriveAllowPolicy = { redrivePermission: 'byQueue', sourceQueueArns };
    }
  }
}
