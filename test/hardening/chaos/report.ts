/** Renders a chaos run as markdown tables (pasted into docs/reliability.md). */
import type { ChaosResult } from './scenario.ts';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const counts = (m: Map<string, number> | Record<string, number>) =>
  (m instanceof Map ? [...m] : Object.entries(m))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ') || '—';

export function renderReport(r: ChaosResult): string {
  const f = r.findings;
  const o = r.options;
  const lines: string[] = [];
  lines.push(
    `Chaos run: ${o.clients} clients, ${o.stack.workers} worker processes × ${o.stack.workerConcurrency} slots, ` +
      `${o.steps} steps × ${o.stack.stepMs} ms per job, schedule ${s(r.schedule.reduce((t, x) => t + x.ms, 0))}, ` +
      `total ${s(r.totalMs)}.`,
    '',
    '| Fault | Phase length | What happened |',
    '|---|---|---|',
  );
  for (const x of r.faults) lines.push(`| ${x.fault} | ${s(x.ms)} | ${x.detail} |`);
  lines.push('', '| Phase | Client answers (status code: count) |', '|---|---|');
  for (const [phase, row] of r.statusesByPhase) lines.push(`| ${phase} | ${counts(row)} |`);
  const wh = f.webhooks;
  lines.push(
    '',
    '| Invariant | Result |',
    '|---|---|',
    `| jobs accepted (distinct ids with 202) | ${f.accepted} |`,
    `| terminal states | ${counts(f.jobStatuses)} |`,
    `| jobs run more than once (worker killed / dependency down) | ${f.retriedJobs} |`,
    `| terminal events per job in \`/v1/events\` | ${counts(f.terminalEventsPerJob)} |`,
    `| usage records (duplicates) | ${f.usageRecords} (${f.duplicateUsage}) |`,
    `| Idempotency-Keys with >1 job id | ${f.duplicateJobIdsPerKey} |`,
    `| replays of accepted requests → same job | ${f.replays.sameJob}/${f.replays.sent} |`,
    `| orphan job records | ${f.orphanRecords} |`,
    `| terminal webhooks expected / accepted / exempt (410) / missing | ${wh.expected} / ${wh.received} / ${wh.exempt410} / ${wh.missing} |`,
    `| webhook deliveries raw / distinct webhook-ids / duplicates dropped | ${wh.deliveries} / ${wh.uniqueIds} / ${wh.duplicatesDropped} |`,
    `| receiver answers to verified deliveries | ${counts(wh.answers)} |`,
    `| deliveries failing signature verification | ${wh.badSignatures} |`,
    `| time to settle after the last fault | ${r.settledInTime ? s(r.settleMs) : `not within ${s(o.settleTimeoutMs)}`} |`,
    `| invariant violations | ${r.violations.length} |`,
  );
  if (r.violations.length > 0) {
    lines.push('', 'Violations:');
    for (const v of r.violations.slice(0, 30)) lines.push(`- ${v}`);
    if (r.violations.length > 30) lines.push(`- … and ${r.violations.length - 30} more`);
  }
  return lines.join('\n');
}
