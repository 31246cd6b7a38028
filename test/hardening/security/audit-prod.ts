/**
 * `npm run audit:prod`: known vulnerabilities in production dependencies, plus offline checks of the installed tree
 * and the lockfile. Exit 0: clean; 1: a high/critical advisory or an offline problem; 3: the audit service could not
 * be reached (nothing was checked for advisories, which is not a pass).
 */
import {
  AUDIT_UNAVAILABLE_EXIT,
  dependencyExitCode,
  dependencyTable,
  runDependencyChecks,
} from './dependency-checks.ts';

const report = await runDependencyChecks();
console.log(dependencyTable(report));
for (const p of [...report.tree.problems, ...report.lock.problems]) console.log(`- ${p}`);
if (report.audit.state !== 'unavailable') for (const a of report.audit.advisories) console.log(`- advisory: ${a}`);
const code = dependencyExitCode(report);
if (code === AUDIT_UNAVAILABLE_EXIT)
  console.error('AUDIT UNAVAILABLE: the advisory service did not answer; nothing was checked (exit 3, not a pass)');
process.exit(code);
