/**
 * Creates the queues the system needs on an SQS-compatible endpoint: the job queue with its DLQ (redrive after
 * `maxReceiveCount`), the batch queue (batch intake and items; same redrive, into the job DLQ, whose sweeper fails
 * any job it finds there) and the webhook delivery queue with its DLQ. Idempotent (CreateQueue returns existing queues).
 */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueNames {
  jobs: string;
  webhooks: string;
  /** Default: `<jobs>-batch`. */
  batches?: string;
}

export interface ProvisionedQueues {
  jobQueueUrl: string;
  jobDlqUrl: string;
  batchQueueUrl: string;
  webhookQueueUrl: string;
  webhookDlqUrl: string;
}

export interface QueueSettings {
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  webhookMaxReceiveCount?: number;
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string> = {}): Promise<string> {
  const res = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!res.QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  return res.QueueUrl;
}

async function arnOf(sqs: SQSClient, url: string): Promise<string> {
  const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = res.Attributes?.QueueArn;
  if (!arn) throw new Error(`queue ${url} has no ARN`);
  return arn;
}

export async function provisionQueues(
  sqs: SQSClient,
  names: QueueNames = { jobs: 'yi-vl-jobs', webhooks: 'yi-vl-webhooks' },
  settings: QueueSettings = {},
): Promise<ProvisionedQueues> {
  const jobDlqUrl = await createQueue(sqs, `${names.jobs}-dlq`);
  const webhookDlqUrl = await createQueue(sqs, `${names.webhooks}-dlq`);
  const jobQueueUrl = await createQueue(sqs, names.jobs, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds ?? 60),
    RedrivePolicy: JSON.stringify({
      maxReceiveCount: settings.maxReceiveCount ?? 5,
      deadLetterTargetArn: await arnOf(sqs, jobDlqUrl),
    }),
  });
  const batchQueueUrl = await createQueue(sqs, names.batches ?? `${names.jobs}-batch`, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds ?? 60),
    RedrivePolicy: JSON.stringify({
      maxReceiveCount: settings.maxReceiveCount ?? 5,
      deadLetterTargetArn: await arnOf(sqs, jobDlqUrl),
    }),
  });
  const webhookQueueUrl = await createQueue(sqs, names.webhooks, {
    VisibilityTimeout: '60',
    RedrivePolicy: JSON.stringify({
      maxReceiveCount: settings.webhookMaxReceiveCount ?? 50,
      deadLetterTargetArn: await arnOf(sqs, webhookDlqUrl),
    }),
  });
  return { jobQueueUrl, jobDlqUrl, batchQueueUrl, webhookQueueUrl, webhookDlqUrl };
}
