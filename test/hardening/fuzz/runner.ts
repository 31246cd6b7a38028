/**
 * Runs fuzz targets with fast-check and collects, per target, how many inputs were tried, what the system answered
 * and whether an invariant broke. The CI test and the `npm run fuzz` CLI both go through `runTargets`, so they
 * cannot drift apart.
 */
import fc from 'fast-check';
import { type FuzzSettings, runsFor } from './settings.ts';

/** Counts inputs and their outcomes (e.g. HTTP status and problem code) for the report. */
export class Tally {
  tried = 0;
  readonly outcomes = new Map<string, number>();
  note(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }
  private lastRun: Promise<void> = Promise.resolve();
  /** Wraps a predicate so that the runner can wait for the one still running when a time cap interrupts the run. */
  track<A extends unknown[]>(predicate: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
    return (...args: A) => {
      this.lastRun = predicate(...args);
      return this.lastRun;
    };
  }
  /** Waits for the last predicate; returns its error if it failed (a failed `fc.pre` is not a failure). */
  async settle(): Promise<unknown> {
    try {
      await this.lastRun;
      return undefined;
    } catch (e) {
      return fc.PreconditionFailure.isFailure(e) ? undefined : (e ?? 'rejected');
    }
  }
  summary(limit = 6): string {
    const top = [...this.outcomes].sort((a, b) => b[1] - a[1]);
    const shown = top.slice(0, limit).map(([k, n]) => `${k} ×${n}`);
    return top.length > limit ? `${shown.join(', ')}, …` : shown.join(', ');
  }
}

/** The run parameters a target passes to `fc.check`; none depend on the property's value type. */
export type CheckParams = Pick<
  fc.Parameters<unknown>,
  'seed' | 'numRuns' | 'path' | 'interruptAfterTimeLimit' | 'markInterruptAsFailure'
>;

export interface CheckOutcome {
  numRuns: number;
  numShrinks: number;
  failed: boolean;
  interrupted: boolean;
  counterexample?: string;
  counterexamplePath?: string;
  error?: string;
}

export interface FuzzContext {
  tally: Tally;
  /** Resources shared by several targets (e.g. one edge stack for every intake target), created on first use. */
  shared<T>(key: string, create: () => Promise<T & { close(): Promise<void> }>): Promise<T>;
}

export interface FuzzTarget {
  name: string;
  /** Inputs per CI run; the long run multiplies it (settings.ts). */
  ciRuns: number;
  run(ctx: FuzzContext, params: CheckParams): Promise<CheckOutcome>;
}

export interface TargetReport extends CheckOutcome {
  target: string;
  tried: number;
  outcomes: string;
  seed: number;
  ms: number;
}

/** `fc.check` with a summary that keeps only what a report or a replay needs. */
export async function check<Ts>(
  property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>,
  params: CheckParams,
): Promise<CheckOutcome> {
  const details = await fc.check(property, params);
  return {
    numRuns: details.numRuns,
    numShrinks: details.numShrinks,
    failed: details.failed,
    interrupted: details.interrupted,
    ...(details.counterexample ? { counterexample: fc.stringify(details.counterexample).slice(0, 2000) } : {}),
    ...(details.counterexamplePath ? { counterexamplePath: details.counterexamplePath } : {}),
    ...(details.errorInstance ? { error: errorText(details.errorInstance) } : {}),
  };
}

function errorText(err: unknown): string {
  return (err instanceof Error ? (err.stack ?? err.message) : String(err)).slice(0, 2000);
}

export async function runTargets(targets: readonly FuzzTarget[], settings: FuzzSettings): Promise<TargetReport[]> {
  const resources = new Map<string, Promise<{ close(): Promise<void> }>>();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const reports: TargetReport[] = [];
  try {
    for (const target of targets) {
      if (settings.target && !target.name.includes(settings.target)) continue;
      const tally = new Tally();
      const ctx: FuzzContext = {
        tally,
        shared<T>(key: string, create: () => Promise<T & { close(): Promise<void> }>): Promise<T> {
          if (!resources.has(key)) resources.set(key, create());
          return resources.get(key) as Promise<T & { close(): Promise<void> }>;
        },
      };
      const started = Date.now();
      const outcome = await target.run(ctx, {
        seed: settings.seed,
        numRuns: runsFor(settings, target.ciRuns),
        ...(settings.path ? { path: settings.path } : {}),
        ...(settings.secondsPerTarget
          ? { interruptAfterTimeLimit: settings.secondsPerTarget * 1000, markInterruptAsFailure: false }
          : {}),
      });
      // An interrupted run abandons its last predicate mid-flight: let it finish (it may still be writing to the
      // stack the next target uses) and count its failure, if any.
      const abandoned = await tally.settle();
      if (abandoned !== undefined && !outcome.failed) {
        outcome.failed = true;
        outcome.error = `the input running when the time cap hit failed: ${errorText(abandoned)}`;
      }
      // Let stray promises of the last inputs settle so an unhandled rejection is charged to this target.
      await new Promise((r) => setTimeout(r, 20));
      const report: TargetReport = {
        target: target.name,
        tried: tally.tried,
        outcomes: tally.summary(),
        seed: settings.seed,
        ms: Date.now() - started,
        ...outcome,
      };
      if (unhandled.length) {
        report.failed = true;
        report.error = `unhandled rejection: ${errorText(unhandled.splice(0)[0])}`;
      }
      reports.push(report);
    }
  } finally {
    process.off('unhandledRejection', onUnhandled);
    for (const r of resources.values()) await (await r).close();
  }
  return reports;
}

export function reportTable(reports: readonly TargetReport[]): string {
  const rows = reports.map(
    (r) =>
      `| ${r.target} | ${r.tried}${r.interrupted ? ' (time cap)' : ''} | ${r.failed ? 1 : 0} | ${r.seed} | ${(r.ms / 1000).toFixed(1)} s | ${r.outcomes} |`,
  );
  return [
    '| target | inputs tried | failures | seed | time | outcomes |',
    '|---|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

/** What to paste to replay a failure. */
export function replayHint(r: TargetReport): string {
  const path = r.counterexamplePath ? ` FUZZ_PATH=${r.counterexamplePath}` : '';
  return `FUZZ_SEED=${r.seed}${path} FUZZ_TARGET=${r.target} npm run fuzz`;
}
