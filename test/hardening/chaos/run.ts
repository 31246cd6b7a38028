/**
 * `npm run chaos`: the chaos scenario with a longer schedule. Bounded by env: CHAOS_SECONDS (schedule length),
 * CHAOS_CLIENTS, CHAOS_JOBS (cap on jobs started, 0 = none), CHAOS_WORKERS, CHAOS_SETTLE_SECONDS.
 * Prints a markdown report; exits 1 when any invariant breaks. Post-mortem: CHAOS_LOG_DIR=<dir> with
 * WORKER_TEST_LOG_LEVEL=info keeps each worker's log; CHAOS_EDGE_LOG_LEVEL=warn prints the edge's.
 */
import { renderReport } from './report.ts';
import { type ChaosOptions, CLI_DEFAULTS, runChaos } from './scenario.ts';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be an integer in ${min}..${max}`);
    process.exit(2);
  }
  return n;
}

const options: ChaosOptions = {
  ...CLI_DEFAULTS,
  seconds: envInt('CHAOS_SECONDS', CLI_DEFAULTS.seconds, 5, 3600),
  clients: envInt('CHAOS_CLIENTS', CLI_DEFAULTS.clients, 1, 64),
  maxJobs: envInt('CHAOS_JOBS', CLI_DEFAULTS.maxJobs, 0, 100_000),
  settleTimeoutMs: envInt('CHAOS_SETTLE_SECONDS', CLI_DEFAULTS.settleTimeoutMs / 1000, 5, 3600) * 1000,
  stack: { ...CLI_DEFAULTS.stack, workers: envInt('CHAOS_WORKERS', CLI_DEFAULTS.stack.workers, 1, 8) },
};

const result = await runChaos(options);
console.log(renderReport(result));
console.log(
  `\nCommand: CHAOS_SECONDS=${options.seconds} CHAOS_CLIENTS=${options.clients} CHAOS_JOBS=${options.maxJobs} ` +
    `CHAOS_WORKERS=${options.stack.workers} npm run chaos`,
);
process.exit(result.violations.length === 0 ? 0 : 1);
