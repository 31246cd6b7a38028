/**
 * Production-dependency checks. `npm audit --omit=dev` needs the registry's bulk-advisory endpoint; when that answers
 * with an error (e.g. a proxy returning 405) the result is `unavailable`, never a pass. The offline checks run
 * anywhere: the installed production tree is complete and valid, and the lockfile pins every production package.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
type Severity = (typeof SEVERITIES)[number];

export type AuditResult =
  | { state: 'ok' | 'vulnerable'; counts: Record<Severity, number>; dependencies: number; advisories: string[] }
  | { state: 'unavailable'; reason: string };

function run(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface AuditJson {
  auditReportVersion?: number;
  vulnerabilities?: Record<string, { severity: Severity; via: unknown[]; range?: string }>;
  metadata?: { vulnerabilities?: Partial<Record<Severity, number>>; dependencies?: { prod?: number; total?: number } };
  message?: string;
  statusCode?: number;
  error?: unknown;
}

/** Interprets `npm audit --json` output (exported for tests of the interpretation itself). */
export function interpretAudit(stdout: string, stderr: string): AuditResult {
  let json: AuditJson;
  try {
    json = JSON.parse(stdout) as AuditJson;
  } catch {
    return { state: 'unavailable', reason: firstLine(stderr) || 'npm audit printed no JSON' };
  }
  if (json.auditReportVersion === undefined || !json.metadata?.vulnerabilities)
    return {
      state: 'unavailable',
      reason: json.message ?? (firstLine(stderr) || 'npm audit returned no report'),
    };
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, json.metadata?.vulnerabilities?.[s] ?? 0])) as Record<
    Severity,
    number
  >;
  const advisories = Object.entries(json.vulnerabilities ?? {}).map(([name, v]) => `${name} (${v.severity})`);
  return {
    state: counts.high + counts.critical > 0 ? 'vulnerable' : 'ok',
    counts,
    dependencies: json.metadata.dependencies?.prod ?? 0,
    advisories,
  };
}

const firstLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.replace(/^npm (error|warn) /, '').trim())
    .find((l) => l && !l.startsWith('Unknown project config')) ?? '';

export async function npmAuditProd(): Promise<AuditResult> {
  const { stdout, stderr } = await run(['audit', '--omit=dev', '--json']);
  return interpretAudit(stdout, stderr);
}

interface LsNode {
  version?: string;
  missing?: boolean;
  invalid?: string | boolean;
  extraneous?: boolean;
  problems?: string[];
  dependencies?: Record<string, LsNode>;
}

/** `npm ls --omit=dev --all`: every production package installed, at a version that satisfies its dependents. */
export async function installedTreeProblems(): Promise<{ packages: number; problems: string[] }> {
  const { code, stdout } = await run(['ls', '--omit=dev', '--all', '--json']);
  const tree = JSON.parse(stdout) as LsNode;
  const problems = [...(tree.problems ?? [])];
  const seen = new Set<string>();
  const walk = (node: LsNode, path: string) => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      const here = `${path}${name}@${child.version ?? '?'}`;
      seen.add(`${name}@${child.version}`);
      if (child.missing) problems.push(`missing: ${here}`);
      if (child.invalid) problems.push(`invalid: ${here}`);
      if (child.extraneous) problems.push(`extraneous: ${here}`);
      walk(child, `${here} > `);
    }
  };
  walk(tree, '');
  if (code !== 0 && problems.length === 0) problems.push(`npm ls exited ${code}`);
  return { packages: seen.size, problems: [...new Set(problems)] };
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<
    string,
    {
      version?: string;
      resolved?: string;
      integrity?: string;
      dev?: boolean;
      link?: boolean;
      dependencies?: Record<string, string>;
    }
  >;
}

const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** package.json pins production dependencies exactly; the lockfile agrees and pins every production package. */
export async function lockfileProblems(): Promise<{ direct: number; locked: number; problems: string[] }> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const problems: string[] = [];
  if (lock.lockfileVersion < 2) problems.push(`lockfileVersion ${lock.lockfileVersion} has no packages map`);
  const direct = Object.entries(pkg.dependencies ?? {});
  for (const [name, spec] of direct) {
    if (!EXACT.test(spec)) problems.push(`package.json: ${name}@${spec} is not an exact version`);
    const locked = lock.packages[`node_modules/${name}`];
    if (!locked) problems.push(`lockfile: ${name} is missing`);
    else if (locked.version !== spec)
      problems.push(`lockfile: ${name} is ${locked.version}, package.json says ${spec}`);
    if (lock.packages['']?.dependencies?.[name] !== spec)
      problems.push(`lockfile root: ${name} differs from package.json`);
  }
  let locked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev || entry.link) continue;
    locked++;
    if (!entry.version || !EXACT.test(entry.version)) problems.push(`lockfile: ${path} has no exact version`);
    if (!entry.integrity) problems.push(`lockfile: ${path} has no integrity hash`);
    if (entry.resolved && !entry.resolved.startsWith('https://'))
      problems.push(`lockfile: ${path} resolves to ${entry.resolved}`);
  }
  return { direct: direct.length, locked, problems };
}

export const AUDIT_UNAVAILABLE_EXIT = 3;

export interface DependencyReport {
  audit: AuditResult;
  tree: Awaited<ReturnType<typeof installedTreeProblems>>;
  lock: Awaited<ReturnType<typeof lockfileProblems>>;
}

export async function runDependencyChecks(): Promise<DependencyReport> {
  const [audit, tree, lock] = await Promise.all([npmAuditProd(), installedTreeProblems(), lockfileProblems()]);
  return { audit, tree, lock };
}

export function dependencyTable(r: DependencyReport): string {
  const audit =
    r.audit.state === 'unavailable'
      ? `**unavailable**: ${r.audit.reason}`
      : `${r.audit.state}: ${Object.entries(r.audit.counts)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')} over ${r.audit.dependencies} prod deps`;
  return [
    '| Check | Result |',
    '|---|---|',
    `| npm audit --omit=dev | ${audit} |`,
    `| npm ls --omit=dev --all | ${r.tree.packages} packages, ${r.tree.problems.length} problems |`,
    `| lockfile pins | ${r.lock.direct} direct exact, ${r.lock.locked} prod packages locked with integrity, ${r.lock.problems.length} problems |`,
  ].join('\n');
}

export function dependencyExitCode(r: DependencyReport): number {
  if (r.audit.state === 'vulnerable' || r.tree.problems.length || r.lock.problems.length) return 1;
  return r.audit.state === 'unavailable' ? AUDIT_UNAVAILABLE_EXIT : 0;
}
