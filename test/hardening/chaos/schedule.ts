/**
 * The fault schedule: named phases run one after another while clients keep creating jobs. A fault phase breaks
 * one thing for its duration and repairs it at the end; every answer a client gets is tagged with the phase in
 * which it arrived.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChaosStack } from './stack.ts';
import type { ReceiverMode, WebhookLedger } from './webhook-ledger.ts';

export type Fault = 'worker-sigkill' | 's3-down' | 'sqs-down' | 'webhook-500' | 'webhook-hang' | 'webhook-410';

export interface Step {
  phase: string;
  fault?: Fault;
  ms: number;
}

export interface InjectedFault {
  fault: Fault;
  phase: string;
  startedAt: number;
  ms: number;
  detail: string;
}

/** Builds the standard schedule, every duration scaled from `unitMs` (CI: short; CLI: longer). */
export function standardSchedule(unitMs: number): Step[] {
  const u = (n: number) => Math.round(n * unitMs);
  return [
    { phase: 'baseline', ms: u(1) },
    { phase: 'worker-sigkill', fault: 'worker-sigkill', ms: u(1.5) },
    { phase: 's3-down', fault: 's3-down', ms: u(2) },
    { phase: 'recovery-1', ms: u(1) },
    { phase: 'sqs-down', fault: 'sqs-down', ms: u(2) },
    { phase: 'recovery-2', ms: u(1) },
    { phase: 'webhook-500', fault: 'webhook-500', ms: u(1.5) },
    { phase: 'webhook-hang', fault: 'webhook-hang', ms: u(2) },
    { phase: 'webhook-410', fault: 'webhook-410', ms: u(1.5) },
    { phase: 'after', ms: u(1) },
  ];
}

const RECEIVER_MODE: Partial<Record<Fault, ReceiverMode>> = {
  'webhook-500': 500,
  'webhook-hang': 'hang',
  'webhook-410': 410,
};

export class PhaseClock {
  current = 'setup';
}

async function killBusyWorker(stack: ChaosStack, waitMs: number): Promise<string> {
  // Kill a worker that has a job in flight, so the kill lands mid-job (bounded wait; else the first worker).
  const deadline = Date.now() + waitMs;
  for (;;) {
    for (const w of stack.workers) {
      const n = await stack.inFlight(w);
      if (n && n > 0) {
        await stack.killWorker(w);
        const next = await stack.startWorker();
        return `${w.name} killed with ${n} job(s) in flight; ${next.name} started`;
      }
    }
    if (Date.now() > deadline) break;
    await sleep(50);
  }
  const w = stack.workers[0];
  if (!w) throw new Error('no worker to kill');
  await stack.killWorker(w);
  const next = await stack.startWorker();
  return `${w.name} killed while idle (no job in flight within ${waitMs} ms); ${next.name} started`;
}

/** Runs the steps in order; returns each fault as it was actually injected (with its real duration). */
export async function runSchedule(
  steps: Step[],
  stack: ChaosStack,
  ledger: WebhookLedger,
  clock: PhaseClock,
): Promise<InjectedFault[]> {
  const injected: InjectedFault[] = [];
  for (const step of steps) {
    clock.current = step.phase;
    const t0 = Date.now();
    let detail = '';
    const fault = step.fault;
    if (fault === 'worker-sigkill') detail = await killBusyWorker(stack, step.ms);
    else if (fault === 's3-down') await stack.aws.s3.stop();
    else if (fault === 'sqs-down') await stack.aws.sqs.stop();
    else if (fault) ledger.mode = RECEIVER_MODE[fault] ?? 204;
    await sleep(Math.max(0, step.ms - (Date.now() - t0)));
    if (fault === 's3-down') await stack.aws.s3.start();
    else if (fault === 'sqs-down') await stack.aws.sqs.start();
    else if (fault && fault !== 'worker-sigkill') ledger.mode = 204;
    if (fault) {
      if (!detail) detail = fault.startsWith('webhook') ? `receiver answered ${RECEIVER_MODE[fault]}` : 'stopped';
      injected.push({ fault, phase: step.phase, startedAt: t0, ms: Date.now() - t0, detail });
    }
  }
  clock.current = 'settle';
  return injected;
}
