// onnxruntime loads its CUDA execution provider (libonnxruntime_providers_cuda.so, beside the core library) only
// from a build of the same onnxruntime version; a provider from another version may load and then fail or crash
// mid-run. This reads both versions from the files before any session is created: the core library's from the
// symbol versions it defines (VERS_1.30.0), the provider's from the version string onnxruntime compiles into it.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ElfFile, NotElfError } from './elf-sections.ts';

export const CUDA_PROVIDER_FILE = 'libonnxruntime_providers_cuda.so';
export const SHARED_PROVIDER_FILE = 'libonnxruntime_providers_shared.so';

export interface CudaProviderCheck {
  /** absent: no CUDA provider file; match; mismatch: another version (refuse); unknown: its version is not readable */
  status: 'absent' | 'match' | 'mismatch' | 'unknown';
  core?: string;
  /** onnxruntime versions found in the provider (empty when unknown) */
  provider?: string[];
  /** one line for the operator (mismatch and unknown) */
  message?: string;
}

export class CudaProviderMismatchError extends Error {
  override name = 'CudaProviderMismatchError';
}

/** onnxruntime-node's native folder for this platform (the binding, the core library and any provider). */
export function onnxruntimeLibraryDir(): string {
  const pkg = dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')));
  const bin = join(pkg, 'bin');
  const napi = existsSync(bin) ? readdirSync(bin).filter((d) => d.startsWith('napi-v')) : [];
  for (const d of napi.sort().reverse()) {
    const dir = join(bin, d, process.platform, process.arch);
    if (existsSync(dir)) return dir;
  }
  return join(bin, 'napi-v6', process.platform, process.arch);
}

const CORE_FILE = /^libonnxruntime\.so(\.\d+)*$/;

/** The core library's onnxruntime version: VERS_x.y.z symbol version, else a libonnxruntime.so.x.y.z file name. */
export function coreOnnxruntimeVersion(dir: string): string | undefined {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => CORE_FILE.test(f)) : [];
  for (const f of files) {
    try {
      const elf = ElfFile.open(join(dir, f));
      try {
        const v = elf
          .versionDefinitions()
          .map((n) => /^VERS_(\d+\.\d+\.\d+)$/.exec(n)?.[1])
          .find(Boolean);
        if (v) return v;
      } finally {
        elf.close();
      }
    } catch (err) {
      if (!(err instanceof NotElfError)) throw err;
    }
  }
  return files.map((f) => /^libonnxruntime\.so\.(\d+\.\d+\.\d+)$/.exec(f)?.[1]).find(Boolean);
}

/** x.y.z strings stored as C strings in the library's read-only data. */
function versionStrings(rodata: Buffer): string[] {
  const found = new Set<string>();
  for (const m of rodata.toString('latin1').matchAll(/(?<=\0)\d{1,3}\.\d{1,3}\.\d{1,3}(?=\0)/g)) found.add(m[0]);
  return [...found];
}

/** Compares the CUDA provider in `dir` (if any) with the core library there. Never loads either library. */
export function checkCudaProvider(dir: string = onnxruntimeLibraryDir()): CudaProviderCheck {
  const providerPath = join(dir, CUDA_PROVIDER_FILE);
  if (!existsSync(providerPath)) return { status: 'absent' };
  const core = coreOnnxruntimeVersion(dir);
  if (!core) {
    return {
      status: 'unknown',
      provider: [],
      message: `cannot read the onnxruntime version of the core library in ${dir}, so ${CUDA_PROVIDER_FILE} is not checked`,
    };
  }
  let rodata: Buffer;
  try {
    const elf = ElfFile.open(providerPath);
    try {
      const section = elf.section('.rodata');
      rodata = section ? elf.read(section) : Buffer.alloc(0);
    } finally {
      elf.close();
    }
  } catch (err) {
    if (!(err instanceof NotElfError)) throw err;
    return {
      status: 'mismatch',
      core,
      provider: [],
      message: `CUDA provider ${providerPath} is not a shared library (${err.message}); onnxruntime ${core} needs its own ${CUDA_PROVIDER_FILE}`,
    };
  }
  // Fast path: the core's version as a C string (a native search, no decoding of the ~25 MB section).
  if (rodata.includes(Buffer.from(`\0${core}\0`, 'latin1'))) return { status: 'match', core, provider: [core] };
  const [major] = core.split('.');
  const provider = versionStrings(rodata).filter((v) => v.split('.')[0] === major && Number(v.split('.')[1]) >= 10);
  if (provider.length === 0) {
    return {
      status: 'unknown',
      core,
      provider,
      message: `cannot read which onnxruntime version built ${providerPath}; it must be onnxruntime ${core}'s`,
    };
  }
  return {
    status: 'mismatch',
    core,
    provider,
    message:
      `CUDA provider ${providerPath} is from onnxruntime ${provider.join(' / ')} but the core library is onnxruntime ${core}: ` +
      'a provider loads only into its own onnxruntime version (matching combinations: docs/deploy.md)',
  };
}

/** Throws the one-line refusal when the CUDA provider beside onnxruntime is from another version; else the check. */
export function assertCudaProviderMatches(dir?: string): CudaProviderCheck {
  const check = checkCudaProvider(dir);
  if (check.status === 'mismatch') throw new CudaProviderMismatchError(check.message);
  return check;
}
