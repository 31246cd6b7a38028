/**
 * Builds the edge's Lambda bundle offline with esbuild: one ESM file (the secret loader, then the edge's Lambda
 * handler) plus the native packages it imports (sharp and its platform binaries) copied into node_modules/.
 * Build on Linux x64 (glibc): the copied binaries are this machine's, and the function runs on x86_64.
 *
 *   tsx infra/scripts/build-edge.ts [--out dist/edge-lambda] [--entry edge/adapter/lambda/handler.ts]
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_EDGE_ENTRY = 'edge/adapter/lambda/handler.ts';
/** Packages with native code: kept out of the bundle and copied whole. */
export const NATIVE_PACKAGES = ['sharp', 'onnxruntime-node'];

export interface BuildEdgeOptions {
  /** Module exporting the Lambda `handler` (absolute or repo-relative). */
  handlerEntry?: string;
  outDir: string;
  nodeModules?: string;
}

export interface BuildEdgeResult {
  bundle: string;
  bytes: number;
  nativePackages: string[];
}

function packageDir(name: string, nodeModules: string): string | undefined {
  const dir = join(nodeModules, name);
  return existsSync(join(dir, 'package.json')) ? dir : undefined;
}

/** Copies a package and, recursively, its dependencies that are installed (optional platform packages included). */
function copyPackageClosure(name: string, from: string, to: string, seen: Set<string>): void {
  if (seen.has(name)) return;
  const dir = packageDir(name, from);
  if (!dir) return;
  seen.add(name);
  cpSync(dir, join(to, name), { recursive: true, dereference: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
    copyPackageClosure(dep, from, to, seen);
  }
}

export async function buildEdgeBundle(options: BuildEdgeOptions): Promise<BuildEdgeResult> {
  const entry = resolve(REPO_ROOT, options.handlerEntry ?? DEFAULT_EDGE_ENTRY);
  if (!existsSync(entry)) throw new Error(`edge entry not found: ${relative(REPO_ROOT, entry)}`);
  const outDir = resolve(REPO_ROOT, options.outDir);
  const nodeModules = options.nodeModules ?? join(REPO_ROOT, 'node_modules');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const loader = join(REPO_ROOT, 'infra/lambda/load-secrets.ts');
  // Secrets must be in process.env before any edge module is evaluated, so the edge is imported dynamically.
  const contents = [
    `import { loadSecretsIntoEnv } from ${JSON.stringify(loader)};`,
    'await loadSecretsIntoEnv(process.env);',
    `const edge = await import(${JSON.stringify(entry)});`,
    'export const handler = edge.handler;',
  ].join('\n');
  const bundle = join(outDir, 'index.mjs');
  const result = await build({
    stdin: { contents, resolveDir: REPO_ROOT, sourcefile: 'lambda-entry.ts', loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: bundle,
    external: NATIVE_PACKAGES,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  const imported = new Set(
    Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  );
  const natives = NATIVE_PACKAGES.filter((p) => imported.has(p));
  const seen = new Set<string>();
  for (const name of natives) copyPackageClosure(name, nodeModules, join(outDir, 'node_modules'), seen);
  return { bundle, bytes: statSync(bundle).size, nativePackages: natives };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: 'dist/edge-lambda' }, entry: { type: 'string' } },
  });
  const res = await buildEdgeBundle({ outDir: values.out!, handlerEntry: values.entry });
  console.log(
    `${relative(REPO_ROOT, res.bundle)}: ${(res.bytes / 1024).toFixed(0)} KiB; native: ${res.nativePackages.join(', ') || 'none'}`,
  );
}
