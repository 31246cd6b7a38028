import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface BacklogStep {
  /** Backlog at or above which this step applies. */
  lower: number;
  /** Backlog below which this step applies (undefined: no upper bound). */
  upper?: number;
  capacity: number;
}

export interface BacklogPlan {
  jobsPerWorker: number;
  minWorkers: number;
  maxWorkers: number;
  /** Application Auto Scaling accepts a bounded number of step adjustments; large ranges are coarsened. */
  maxSteps?: number;
}

/**
 * Step table implementing capacity = clamp(ceil(backlog / jobsPerWorker), max(1, minWorkers), maxWorkers) for a
 * non-empty backlog. Backlogs are whole message counts; the bounds sit half-way between integers so that a count
 * never lands on a boundary. With more capacities than `maxSteps`, some are skipped, always rounding capacity up.
 */
export function backlogSteps(plan: BacklogPlan): BacklogStep[] {
  const { jobsPerWorker: per, minWorkers, maxWorkers } = plan;
  const maxSteps = plan.maxSteps ?? 20;
  if (per < 1 || maxWorkers < 1 || minWorkers > maxWorkers) throw new Error('invalid backlog plan');
  const capacities = new Set<number>();
  const count = Math.min(maxWorkers, maxSteps);
  for (let i = 1; i <= count; i++) capacities.add(Math.ceil((i * maxWorkers) / count));
  const steps: BacklogStep[] = [];
  let previous = 0;
  for (const c of capacities) {
    const capacity = Math.max(c, minWorkers, 1);
    const lower = previous === 0 ? 0 : previous * per + 0.5;
    const upper = c === maxWorkers ? undefined : c * per + 0.5;
    const last = steps.at(-1);
    if (last && last.capacity === capacity) last.upper = upper;
    else steps.push({ lower, upper, capacity });
    previous = c;
  }
  return steps;
}

/** `FILL(jobs_visible, 0) + FILL(jobs_inflight, 0) + …`: the metric-math sum over the named queues. */
export function backlogExpression(queueNames: readonly string[]): string {
  if (queueNames.length === 0) throw new Error('backlog scaling needs at least one queue');
  for (const name of queueNames) if (!/^[a-z][a-z0-9]*$/.test(name)) throw new Error(`bad queue name: ${name}`);
  return queueNames.flatMap((n) => [`FILL(${n}_visible, 0)`, `FILL(${n}_inflight, 0)`]).join(' + ');
}

/** The capacity the step table gives for a backlog (0 backlog: the scale-in alarm sets minWorkers). */
export function capacityFor(steps: BacklogStep[], backlog: number, minWorkers: number): number {
  if (backlog <= 0) return minWorkers;
  const step = steps.find((s) => backlog >= s.lower && (s.upper === undefined || backlog < s.upper));
  if (!step) throw new Error(`no step for backlog ${backlog}`);
  return step.capacity;
}

export interface BacklogScalingProps extends BacklogPlan {
  target: appscaling.ScalableTarget;
  /** The queues whose messages make up the backlog, by a short lowercase name (the metric ids derive from it). */
  queues: Record<string, sqs.IQueue>;
  /** Minutes of an empty backlog before capacity returns to minWorkers. */
  scaleInAfterIdleMinutes: number;
}

/**
 * Scales a service on its queues' backlog per worker, from and to zero. Backlog = visible + in-flight messages summed
 * over the queues (the job queue and the batch queue: batch items wait for capacity too), so jobs being processed
 * keep their worker. Each series is FILLed with 0, because SQS stops publishing for an idle queue and a sum over a
 * missing series would have no value. Target tracking cannot start from zero tasks (backlog per task is
 * undefined), hence step scaling with exact capacities driven by two alarms:
 * - backlog ≥ 1: capacity follows the step table (re-evaluated each minute while the alarm stays in ALARM);
 * - backlog = 0 (or no data: SQS stops publishing for idle queues) for N minutes: back to minWorkers.
 */
export class BacklogScaling extends Construct {
  readonly backlog: cloudwatch.MathExpression;
  readonly steps: BacklogStep[];
  readonly scaleOutAlarm: cloudwatch.Alarm;
  readonly scaleInAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BacklogScalingProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    for (const [name, queue] of Object.entries(props.queues)) {
      usingMetrics[`${name}_visible`] = queue.metricApproximateNumberOfMessagesVisible({
        period,
        statistic: 'Maximum',
      });
      usingMetrics[`${name}_inflight`] = queue.metricApproximateNumberOfMessagesNotVisible({
        period,
        statistic: 'Maximum',
      });
    }
    this.backlog = new cloudwatch.MathExpression({
      expression: backlogExpression(Object.keys(props.queues)),
      usingMetrics,
      label: 'backlog (visible + in flight, all queues)',
      period,
    });
    this.steps = backlogSteps(props);

    const scaleOut = new appscaling.StepScalingAction(this, 'ScaleOnBacklog', {
      scalingTarget: props.target,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    // Bounds are relative to the alarm threshold (0).
    for (const step of this.steps) {
      scaleOut.addAdjustment({ adjustment: step.capacity, lowerBound: step.lower, upperBound: step.upper });
    }
    this.scaleOutAlarm = new cloudwatch.Alarm(this, 'BacklogAlarm', {
      metric: this.backlog,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Jobs are queued or running: size the GPU service to the backlog',
    });
    this.scaleOutAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleOut));

    const scaleIn = new appscaling.StepScalingAction(this, 'ScaleInWhenIdle', {
      scalingTarget: props.target,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
      cooldown: Duration.minutes(5),
    });
    scaleIn.addAdjustment({ adjustment: props.minWorkers, upperBound: 0 });
    this.scaleInAlarm = new cloudwatch.Alarm(this, 'IdleAlarm', {
      metric: this.backlog,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: props.scaleInAfterIdleMinutes,
      datapointsToAlarm: props.scaleInAfterIdleMinutes,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      alarmDescription: 'No job queued or running: return the GPU service to its warm minimum',
    });
    this.scaleInAlarm.addAlarmAction(new cwActions.ApplicationScalingAction(scaleIn));
  }
}
