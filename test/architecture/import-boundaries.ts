/**
 * The import rules of docs/architecture.md, checked on the source text:
 * - `edge/` and `gpu-worker/` never import each other;
 * - `shared/` imports neither of them, nor test or script helpers;
 * - `infra/` may read `shared/` (names, key layout) but no runtime code of the deployables.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export const RULES: Record<string, readonly string[]> = {
  edge: ['gpu-worker', 'test', 'scripts', 'bench', 'infra'],
  'gpu-worker': ['edge', 'test', 'scripts', 'bench', 'infra'],
  shared: ['edge', 'gpu-worker', 'test', 'scripts', 'bench', 'infra'],
  infra: ['edge', 'gpu-worker', 'test', 'scripts', 'bench'],
};

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;

export interface Violation {
  file: string;
  specifier: string;
  target: string;
}

export function importsOf(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => m[2]!);
}

/** Top-level folder an import resolves into, or null for packages and built-ins. */
function topFolderOf(root: string, fromFile: string, specifier: string): string | null {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return null;
  const target = relative(root, resolve(dirname(fromFile), specifier));
  if (target.startsWith('..')) return '(outside the repository)';
  return target.split(sep)[0] ?? null;
}

/** Test files beside the code may use the shared test helpers in `test/`; nothing else loosens. */
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;

export function checkFile(root: string, file: string, source: string): Violation[] {
  const own = relative(root, file).split(sep)[0]!;
  const rules = RULES[own];
  if (!rules) return [];
  const forbidden = TEST_FILE.test(file) ? rules.filter((r) => r !== 'test') : rules;
  const out: Violation[] = [];
  for (const specifier of importsOf(source)) {
    const target = topFolderOf(root, file, specifier);
    if (target && (forbidden.includes(target) || target === '(outside the repository)'))
      out.push({ file: relative(root, file), specifier, target });
  }
  return out;
}

const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SKIP = new Set(['node_modules', 'dist', 'cdk.out', '.wrangler']);

export function checkTree(root: string): Violation[] {
  const violations: Violation[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (SKIP.has(name)) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (SOURCE_EXT.test(name)) violations.push(...checkFile(root, p, readFileSync(p, 'utf8')));
    }
  };
  for (const top of Object.keys(RULES)) {
    try {
      walk(join(root, top));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return violations;
}
