/**
 * Load suite (`npm run load`): LOAD_CLIENTS keep-alive clients (default 16) post a mix of real images and ~15 %
 * hostile requests to the edge's Node server (its own process) over loopback S3/SQS for LOAD_WARMUP_SECONDS (default
 * 3) plus LOAD_SECONDS (default 30, two equal halves), then audits storage and the queue and has a worker drain the
 * queue (a share of the messages duplicated on purpose). Prints a markdown report; exits 1 when an invariant breaks
 * (any 5xx, a wrong refusal, a lost job, a job not run exactly once, memory still growing in the second half).
 * LOAD_MAX_CONCURRENT_UPLOADS sets the edge's upload limit (its 429 instance_busy answers are counted, not failures).
 */
import { cpus, loadavg } from 'node:os';
import { formatReport, invariantFailures, runLoad } from '../test/hardening/load/runner.ts';

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  const v = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    console.error(`${name} must be an integer from ${min} to ${max}`);
    process.exit(2);
  }
  return v;
}

const clients = envInt('LOAD_CLIENTS', 16, 1, 256);
const seconds = envInt('LOAD_SECONDS', 30, 2, 600);
const warmupSeconds = envInt('LOAD_WARMUP_SECONDS', 3, 0, 60);
const seed = envInt('LOAD_SEED', 1, 0, 2 ** 31 - 1);
const maxUploads = process.env.LOAD_MAX_CONCURRENT_UPLOADS
  ? envInt('LOAD_MAX_CONCURRENT_UPLOADS', 32, 0, 10_000)
  : undefined;

console.log(
  `load: node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at start`,
);
const report = await runLoad({
  clients,
  seconds,
  warmupSeconds,
  seed,
  ...(maxUploads !== undefined ? { maxConcurrentUploads: maxUploads } : {}),
  log: (l) => console.log(`load: ${l}`),
});
const failures = invariantFailures(report);
console.log(
  `load: load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at end\n`,
);
console.log(formatReport(report, failures));
console.log(
  `\ncommand: LOAD_CLIENTS=${clients} LOAD_SECONDS=${seconds} LOAD_WARMUP_SECONDS=${warmupSeconds}` +
    `${maxUploads !== undefined ? ` LOAD_MAX_CONCURRENT_UPLOADS=${maxUploads}` : ''} npm run load`,
);
process.exit(failures.length ? 1 : 0);
