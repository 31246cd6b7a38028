/**
 * The chaos scenario shared by the CI test and `npm run chaos`: start the stack, let clients create jobs through the
 * edge while the fault schedule runs, wait (bounded) for the system to settle, then check every invariant.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { checkClientAnswers, checkOutcome, type Findings, settled, statusLabel } from './checks.ts';
import { type Attempt, type ClientLog, type ClientSettings, runClients } from './client.ts';
import { type Fault, type InjectedFault, PhaseClock, runSchedule, type Step, standardSchedule } from './schedule.ts';
import { CHAOS_API_KEY, type StackSettings, startChaosStack } from './stack.ts';
import { WebhookLedger } from './webhook-ledger.ts';

export interface ChaosOptions {
  /** Length of the fault schedule (the clients create jobs throughout). */
  seconds: number;
  clients: number;
  /** Cap on jobs the clients start (0: no cap). */
  maxJobs: number;
  /** Generation steps per job (the scripted analyzer's `steps=N`). */
  steps: number;
  thinkMs: number;
  maxRetryWaitMs: number;
  settleTimeoutMs: number;
  stack: StackSettings;
}

export const CI_OPTIONS: ChaosOptions = {
  seconds: 12,
  clients: 3,
  maxJobs: 0,
  steps: 4,
  thinkMs: 150,
  maxRetryWaitMs: 1000,
  // A bound, not a wait: a healthy run settles in a few seconds and stops waiting then. Generous, because on a shared
  // 2-core machine the worker restarted after the SIGKILL can take many seconds just to start.
  settleTimeoutMs: 60_000,
  stack: {
    workers: 2,
    workerConcurrency: 2,
    stepMs: 100,
    visibilitySeconds: 2,
    maxReceiveCount: 10,
    webhookTimeoutSeconds: 1,
    webhookRecoveryDelaySeconds: 3,
    webhookLeaseMarginSeconds: 3,
    idempotencyLockSeconds: 2,
  },
};

export const CLI_DEFAULTS: ChaosOptions = {
  ...CI_OPTIONS,
  seconds: 60,
  clients: 4,
  maxJobs: 400,
  steps: 6,
  thinkMs: 300,
  maxRetryWaitMs: 5000,
  settleTimeoutMs: 120_000,
  stack: {
    ...CI_OPTIONS.stack,
    visibilitySeconds: 3,
    webhookTimeoutSeconds: 2,
    webhookRecoveryDelaySeconds: 60,
    webhookLeaseMarginSeconds: 30,
    idempotencyLockSeconds: 5,
  },
};

export interface ChaosResult {
  options: ChaosOptions;
  schedule: Step[];
  faults: InjectedFault[];
  /** phase → status label → count, phases in schedule order. */
  statusesByPhase: Map<string, Map<string, number>>;
  findings: Findings;
  attempts: Attempt[];
  settleMs: number;
  settledInTime: boolean;
  totalMs: number;
  violations: string[];
}

function tally(attempts: Attempt[], phases: string[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>(phases.map((p) => [p, new Map()]));
  for (const a of attempts) {
    const row = out.get(a.phase) ?? new Map<string, number>();
    out.set(a.phase, row);
    const label = statusLabel(a);
    row.set(label, (row.get(label) ?? 0) + 1);
  }
  return out;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now();
  const schedule = standardSchedule((options.seconds * 1000) / 14.5);
  const stack = await startChaosStack(options.stack);
  try {
    const ledger = new WebhookLedger(stack.receiver);
    const clock = new PhaseClock();
    const log: ClientLog = { attempts: [], accepted: new Map(), abandoned: [] };
    const client: ClientSettings = {
      baseUrl: stack.edge.url,
      apiKey: CHAOS_API_KEY,
      webhookUrl: stack.receiver.url,
      clients: options.clients,
      steps: options.steps,
      maxRetryWaitMs: options.maxRetryWaitMs,
      requestTimeoutMs: 15_000,
      thinkMs: options.thinkMs,
      maxAttemptsPerJob: 60,
    };
    let started = 0;
    const stop = () => clock.current === 'settle' || (options.maxJobs > 0 && started >= options.maxJobs);
    const runId = `chaos-${Date.now().toString(36)}`;
    const clients = runClients(
      client,
      log,
      () => clock.current,
      () => {
        if (stop()) return true;
        started++;
        return false;
      },
      runId,
    );
    // Faults start once every client has a job accepted, so they land on a system with work in flight.
    const warmUp = Date.now() + 10_000;
    clock.current = 'baseline';
    while (log.accepted.size < options.clients && Date.now() < warmUp) await sleep(50);
    const faults = await runSchedule(schedule, stack, ledger, clock);
    await clients;

    const settleStart = Date.now();
    const done = new Set<string>();
    let settledInTime = false;
    while (Date.now() - settleStart < options.settleTimeoutMs) {
      if (await settled(stack, log, ledger, done)) {
        settledInTime = true;
        break;
      }
      await sleep(250);
    }
    const settleMs = Date.now() - settleStart;
    await sleep(1000); // room for a late duplicate delivery to show up

    const dependencyPhases = new Map<string, Fault>(
      schedule.filter((s) => s.fault === 's3-down' || s.fault === 'sqs-down').map((s) => [s.phase, s.fault as Fault]),
    );
    const findings = await checkOutcome(stack, log, ledger, client, options.steps);
    const violations = [
      ...(settledInTime ? [] : [`did not settle within ${options.settleTimeoutMs} ms`]),
      ...checkClientAnswers(log.attempts, dependencyPhases),
      ...findings.violations,
    ];
    return {
      options,
      schedule,
      faults,
      statusesByPhase: tally(log.attempts, [...schedule.map((s) => s.phase)]),
      findings,
      attempts: log.attempts,
      settleMs,
      settledInTime,
      totalMs: Date.now() - t0,
      violations,
    };
  } finally {
    await stack.close();
  }
}
