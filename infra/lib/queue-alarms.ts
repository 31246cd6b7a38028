import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface QueueAlarmsProps {
  jobQueue: sqs.IQueue;
  jobDlq: sqs.IQueue;
  batchQueue: sqs.IQueue;
  webhookQueue: sqs.IQueue;
  webhookDlq: sqs.IQueue;
  oldestJobAgeAlarmSeconds: number;
  oldestBatchAgeAlarmSeconds: number;
  oldestWebhookAgeAlarmSeconds: number;
  alarmEmail?: string;
}

/**
 * Operator alarms, all sent to one SNS topic: any message in a DLQ (a job that failed every receive, a webhook that
 * never got through) and queues whose oldest message is older than the limit (workers missing or stuck; the batch
 * queue's limit is hours, since its items wait behind interactive jobs).
 */
export class QueueAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: QueueAlarmsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const period = Duration.minutes(1);
    const dlqDepth = (name: string, queue: sqs.IQueue, what: string) =>
      this.add(name, {
        metric: queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${what} reached the dead-letter queue`,
      });
    const oldestAge = (name: string, queue: sqs.IQueue, seconds: number, what: string) =>
      this.add(name, {
        metric: queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        threshold: seconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `The oldest ${what} has waited over ${seconds} s`,
      });
    dlqDepth('JobDlqDepth', props.jobDlq, 'A job');
    dlqDepth('WebhookDlqDepth', props.webhookDlq, 'A webhook delivery');
    oldestAge('OldestJobAge', props.jobQueue, props.oldestJobAgeAlarmSeconds, 'queued job');
    oldestAge('OldestBatchItemAge', props.batchQueue, props.oldestBatchAgeAlarmSeconds, 'batch item or intake');
    oldestAge('OldestWebhookAge', props.webhookQueue, props.oldestWebhookAgeAlarmSeconds, 'webhook delivery');
  }

  private add(id: string, props: cloudwatch.AlarmProps): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, props);
    const action = new cwActions.SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}
