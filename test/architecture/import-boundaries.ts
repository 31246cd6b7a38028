/**
 * The import rules of docs/architecture.md, checked on the source text:
 * - `edge/` and `gpu-worker/` never import each other;
 * - `shared/` imports neither of them, nor test or script helpers;
 * - `infra/` may read `shared/` (names, key layout) but no runtime code of the deployables;
 * - inside `gpu-worker/`, the model folders are layered (WORKER_RULES): `onnx/` at the bottom, `converter/` on
 *   `onnx/` and `yi-vl/checkpoint/`, and `yi-vl/` never on `converter/`;
 * and on the import graph of the code that is not test code:
 * - no file-level import cycles anywhere;
 * - no cycles between the sub-folders of any `gpu-worker/` folder.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';

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

/**
 * Inside `gpu-worker/`, for code that is not test code: `only` lists everything a folder may import in
 * `gpu-worker/` besides its own files; `not` lists what it must never import.
 */
export const WORKER_RULES: Record<string, { only?: readonly string[]; not?: readonly string[] }> = {
  'gpu-worker/onnx': { only: [] },
  'gpu-worker/converter': { only: ['gpu-worker/onnx', 'gpu-worker/yi-vl/checkpoint'] },
  'gpu-worker/yi-vl': { not: ['gpu-worker/converter'] },
};

/** Test files beside the code may use the shared test helpers in `test/`; nothing else loosens. */
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;
const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/** Repository-relative path with `/` separators. */
const repoPath = (root: string, file: string) => relative(root, file).split(sep).join('/');
const within = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

/**
 * Code only tests run: test files, `test/`, fixtures under a `testing/` folder and `testing.ts` helper modules. The
 * layering and cycle rules do not apply to it (a pipeline test may convert a checkpoint with the converter).
 */
export function isTestCode(path: string): boolean {
  const parts = path.split('/');
  const name = parts.at(-1)!;
  return (
    parts[0] === 'test' ||
    TEST_FILE.test(name) ||
    parts.slice(0, -1).includes('testing') ||
    name.replace(SOURCE_EXT, '') === 'testing'
  );
}

/** The repository file a relative specifier names, or null for packages and built-ins. */
function targetOf(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return posix.normalize(posix.join(posix.dirname(from), specifier));
}

function workerViolations(path: string, specifier: string): Violation[] {
  const target = targetOf(path, specifier);
  if (!target || !within(target, 'gpu-worker') || isTestCode(path)) return [];
  const out: Violation[] = [];
  for (const [folder, rule] of Object.entries(WORKER_RULES)) {
    if (!within(path, folder) || within(target, folder)) continue;
    const barred = rule.not?.find((f) => within(target, f));
    if (barred) out.push({ file: path, specifier, target: barred });
    else if (rule.only && !rule.only.some((f) => within(target, f)))
      out.push({ file: path, specifier, target: posix.dirname(target) });
  }
  return out;
}

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
    out.push(...workerViolations(repoPath(root, file), specifier));
  }
  return out;
}

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

/** The folders whose non-test code the cycle checks read (everything but `test/`). */
export const CODE_FOLDERS = ['edge', 'gpu-worker', 'shared', 'infra', 'scripts', 'bench'] as const;

/** Repository-relative path → source text of every source file in CODE_FOLDERS that is not test code. */
export function readSources(root: string, folders: readonly string[] = CODE_FOLDERS): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (SKIP.has(name)) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (SOURCE_EXT.test(name) && !isTestCode(repoPath(root, p)))
        sources.set(repoPath(root, p), readFileSync(p, 'utf8'));
    }
  };
  for (const top of folders) {
    try {
      walk(join(root, top));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return sources;
}

/** file → the files it imports (type-only, re-exports and dynamic imports included), among the given files only. */
export type ImportGraph = Map<string, Set<string>>;

export function importGraph(sources: ReadonlyMap<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, source] of sources) {
    const targets = importsOf(source)
      .map((s) => targetOf(file, s))
      .filter((t): t is string => t !== null && sources.has(t));
    graph.set(file, new Set(targets));
  }
  return graph;
}

/** Strongly connected components with more than one node (or a node importing itself), each sorted, in order. */
export function cyclesOf(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)?.has(v)) cycles.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/**
 * Cycles between the entries of each folder at or below `under`: every file import that crosses from one entry
 * (sub-folder or file) of a folder into another is an edge between them. Cycles made of files only are left to
 * cyclesOf; reported here are those that pass through at least one sub-folder, as entry paths.
 */
export function folderCycles(graph: ImportGraph, under: string): string[][] {
  const folders = new Set<string>();
  for (const file of graph.keys()) {
    if (!within(file, under)) continue;
    for (let d = posix.dirname(file); within(d, under); d = posix.dirname(d)) folders.add(d);
  }
  const out: string[][] = [];
  for (const folder of [...folders].sort()) {
    const entryOf = (file: string) =>
      within(file, folder) ? `${folder}/${file.slice(folder.length + 1).split('/')[0]}` : null;
    const entries: ImportGraph = new Map();
    for (const [file, targets] of graph) {
      const from = entryOf(file);
      if (!from) continue;
      for (const t of targets) {
        const to = entryOf(t);
        if (!to || to === from) continue;
        if (!entries.has(from)) entries.set(from, new Set());
        entries.get(from)!.add(to);
      }
    }
    const isFile = (entry: string) => graph.has(entry);
    out.push(...cyclesOf(entries).filter((c) => !c.every(isFile)));
  }
  return out;
}

/** The file imports between the given entries (folders or files), as `from → to` lines: what makes a cycle. */
export function importsBetween(graph: ImportGraph, entries: readonly string[]): string[] {
  const entryOf = (file: string) => entries.find((e) => within(file, e));
  const lines: string[] = [];
  for (const [file, targets] of graph) {
    const from = entryOf(file);
    for (const t of targets) {
      const to = entryOf(t);
      if (from && to && from !== to) lines.push(`${file} → ${t}`);
    }
  }
  return lines.sort();
}
