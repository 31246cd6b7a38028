import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import {
  type JobQueue,
  type QueueDepth,
  QueueUnavailableError,
  type ReceivedMessage,
  type ReceiveOptions,
} from '../ports/job-queue.ts';
import { awsClientSpeedOptions } from './client-options.ts';
import { errorName, isUnavailable } from './errors.ts';

export interface SqsClientOptions {
  region: string;
  /** Overrides `AWS_ENDPOINT_URL_SQS` (which the SDK also reads by itself). */
  endpoint?: string;
  credentials?: SQSClientConfig['credentials'];
}

export function createSqsClient(options: SqsClientOptions): SQSClient {
  return new SQSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...awsClientSpeedOptions,
  });
}

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    readonly url: string,
  ) {}

  async send(body: string, options: { delaySeconds?: number } = {}): Promise<{ messageId: string }> {
    const res = await this.call(() =>
      this.client.send(
        new SendMessageCommand({ QueueUrl: this.url, MessageBody: body, DelaySeconds: options.delaySeconds }),
      ),
    );
    return { messageId: res.MessageId ?? '' };
  }

  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const res = await this.call(() =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.url,
          MaxNumberOfMessages: options.maxMessages ?? 1,
          WaitTimeSeconds: options.waitSeconds ?? 20,
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
          // The deprecated spelling too: some SQS-compatible servers (local-aws-sqs) read only this one.
          AttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] as unknown as QueueAttributeName[],
        }),
        options.signal ? { abortSignal: options.signal } : {},
      ),
    );
    return (res.Messages ?? []).map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
      ...(m.Attributes?.SentTimestamp ? { sentAt: Number(m.Attributes.SentTimestamp) } : {}),
    }));
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.call(() =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: receiptHandle })),
    );
  }

  async changeVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.call(() =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.url,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      ),
    );
  }

  async depth(): Promise<QueueDepth> {
    const res = await this.call(() =>
      this.client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      ),
    );
    const a = res.Attributes ?? {};
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUnavailable(err) && errorName(err) !== 'AbortError') {
        throw new QueueUnavailableError(`queue unavailable (${errorName(err)})`, { cause: err });
      }
      throw err;
    }
  }
}
