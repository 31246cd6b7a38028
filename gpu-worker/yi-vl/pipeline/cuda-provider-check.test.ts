import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  assertCudaProviderMatches,
  CUDA_PROVIDER_FILE,
  CudaProviderMismatchError,
  checkCudaProvider,
  coreOnnxruntimeVersion,
  onnxruntimeLibraryDir,
} from './cuda-provider-check.ts';
import { ElfFile, NotElfError } from './elf-sections.ts';
import { writeFakeElf } from './testing/fake-elf.ts';

const installed = JSON.parse(
  readFileSync(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'), 'utf8'),
) as { version: string };
const realDir = onnxruntimeLibraryDir();
const root = mkdtempSync(join(tmpdir(), 'cuda-provider-check-'));
after(() => rmSync(root, { recursive: true, force: true }));

function libDir(name: string, provider?: string[] | 'not-elf'): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  symlinkSync(join(realDir, 'libonnxruntime.so.1'), join(dir, 'libonnxruntime.so.1'));
  if (provider === 'not-elf') writeFileSync(join(dir, CUDA_PROVIDER_FILE), 'not a library\n');
  else if (provider) writeFakeElf(join(dir, CUDA_PROVIDER_FILE), { rodata: ['Replay', ...provider, 'x'] });
  return dir;
}

describe('CUDA provider version check', { skip: process.platform !== 'linux' && 'Linux libraries only' }, () => {
  test('reads the installed core library version from its symbol versions', () => {
    assert.equal(coreOnnxruntimeVersion(realDir), installed.version);
    const elf = ElfFile.open(join(realDir, 'libonnxruntime.so.1'));
    try {
      assert.ok(elf.versionDefinitions().includes(`VERS_${installed.version}`));
    } finally {
      elf.close();
    }
  });

  test('a fake core library: versions from .gnu.version_d, and the file name as a fallback', () => {
    const dir = join(root, 'fake-core');
    mkdirSync(dir);
    writeFakeElf(join(dir, 'libonnxruntime.so.1'), { versionDefinitions: ['VERS_1.29.0'] });
    assert.equal(coreOnnxruntimeVersion(dir), '1.29.0');
    const named = join(root, 'named-core');
    mkdirSync(named);
    writeFakeElf(join(named, 'libonnxruntime.so.1.31.2'), {});
    assert.equal(coreOnnxruntimeVersion(named), '1.31.2');
  });

  test('no provider file: nothing to check', () => {
    assert.deepEqual(checkCudaProvider(libDir('absent')), { status: 'absent' });
  });

  test('a provider from the same onnxruntime version matches', () => {
    const check = checkCudaProvider(libDir('same', ['1.3.9', installed.version]));
    assert.equal(check.status, 'match');
    assert.equal(check.core, installed.version);
  });

  test('a provider from onnxruntime 1.29.0 is refused with one line naming both versions', () => {
    const dir = libDir('older', ['1.3.9', '1.29.0']);
    const check = checkCudaProvider(dir);
    assert.equal(check.status, 'mismatch');
    assert.deepEqual(check.provider, ['1.29.0']);
    assert.throws(
      () => assertCudaProviderMatches(dir),
      (err: unknown) =>
        err instanceof CudaProviderMismatchError &&
        !err.message.includes('\n') &&
        err.message.includes('onnxruntime 1.29.0') &&
        err.message.includes(`core library is onnxruntime ${installed.version}`) &&
        err.message.includes(join(dir, CUDA_PROVIDER_FILE)),
    );
  });

  test('a provider file that is not a library is refused; one without a version string is only unknown', () => {
    assert.equal(checkCudaProvider(libDir('garbage', 'not-elf')).status, 'mismatch');
    const unknown = checkCudaProvider(libDir('unversioned', ['1.3.9']));
    assert.equal(unknown.status, 'unknown');
    assert.match(unknown.message ?? '', /cannot read which onnxruntime version/);
    assert.doesNotThrow(() => assertCudaProviderMatches(libDir('unversioned2', ['2.0'])));
  });

  test('ElfFile refuses a file that is not ELF', () => {
    const p = join(root, 'text.so');
    writeFileSync(p, Buffer.alloc(128, 65));
    assert.throws(() => ElfFile.open(p), NotElfError);
  });
});
