/**
 * `npm run security`: the whole security suite as a report (markdown tables for docs/reliability.md). Runs the same
 * runners as the CI tests. Exit 0: every check passed; 1: something failed (listed); 3: everything else passed but
 * the npm audit service was unavailable.
 */
import { startEdgeHarness } from '../../edge/support/edge-harness.ts';
import { matrixTable, runAuthMatrix } from './auth-matrix.ts';
import {
  AUDIT_UNAVAILABLE_EXIT,
  dependencyExitCode,
  dependencyTable,
  runDependencyChecks,
} from './dependency-checks.ts';
import { runLogScan } from './log-flows.ts';
import { CREDENTIAL_PATTERNS } from './secret-scan.ts';
import { runSsrfChecks, ssrfTable } from './ssrf-runner.ts';

const t0 = Date.now();
const h = await startEdgeHarness();
const matrix = await runAuthMatrix(h).finally(() => h.close());
const ssrf = await runSsrfChecks();
const logs = await runLogScan();
const deps = await runDependencyChecks();

const principals = new Set(matrix.rows.map((r) => r.principal)).size;
console.log(
  `## Authorization matrix (${matrix.operations.length} operations × ${principals} principals, ${matrix.rows.length} requests)\n`,
);
console.log(matrixTable(matrix));
console.log(`\n## SSRF (${ssrf.rows.length} attempts)\n`);
console.log(ssrfTable(ssrf));
console.log('\n## Secrets in logs\n');
console.log('| Source | Lines scanned | Secret values + patterns | Findings |\n|---|---|---|---|');
console.log(
  `| edge (LOG_LEVEL=debug, statuses ${[...new Set(logs.statuses)].sort().join('/')}) | ${logs.edgeLines} | ${logs.secrets} + ${CREDENTIAL_PATTERNS.length} | ${logs.findings.filter((f) => f.label.startsWith('edge')).length} |`,
);
console.log(
  `| worker process (LOG_LEVEL=trace; ${logs.outcomes.join('; ')}) | ${logs.workerLines} | ${logs.secrets} + ${CREDENTIAL_PATTERNS.length} | ${logs.findings.filter((f) => f.label.startsWith('worker')).length} |`,
);
console.log('\n## Production dependencies\n');
console.log(dependencyTable(deps));

const failures = [
  ...matrix.failures.map((f) => `auth: ${f}`),
  ...ssrf.failures.map((f) => `ssrf: ${f}`),
  ...logs.findings.map((f) => `log leak (${f.label}): ${f.line}`),
  ...logs.flowFailures.map((f) => `log flows: ${f}`),
  ...deps.tree.problems,
  ...deps.lock.problems,
  ...(deps.audit.state === 'vulnerable' ? deps.audit.advisories.map((a) => `advisory: ${a}`) : []),
];
console.log(`\n${failures.length} failure(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
for (const f of failures) console.log(`- ${f}`);
const depCode = dependencyExitCode(deps);
process.exit(failures.length ? 1 : depCode === AUDIT_UNAVAILABLE_EXIT ? AUDIT_UNAVAILABLE_EXIT : 0);
