import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readManifest } from './manifest.ts';
import { createSessions, DeviceError } from './sessions.ts';
import { tinyModel } from './testing/tiny-model.ts';

// Where onnxruntime-node looks for its CUDA provider (installed from NuGet at npm install time, absent with
// ONNXRUNTIME_NODE_INSTALL=skip). Without it, asking for CUDA must not silently give the CPU.
const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const cudaLib = join(ortDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const noCuda = !existsSync(cudaLib);

let dir: string;
before(async () => {
  dir = (await tinyModel()).modelDir;
});

describe('execution provider selection', {
  skip: noCuda ? false : 'CUDA provider present: fallback cases do not apply',
}, () => {
  test('device "auto" without the CUDA provider: runs on CPU and reports the fallback', async () => {
    const s = await createSessions(dir, readManifest(dir), { device: 'auto' });
    try {
      assert.equal(s.report.provider, 'cpu');
      assert.equal(s.report.cpuFallback, true);
      assert.match(s.report.warnings.join('\n'), /CUDA execution provider unavailable/);
    } finally {
      await s.release();
    }
  });

  test('device "cuda" without the CUDA provider: refuses to start', async () => {
    await assert.rejects(createSessions(dir, readManifest(dir), { device: 'cuda' }), DeviceError);
  });
});

test('device "cpu": CPU EP, no fallback reported', async () => {
  const s = await createSessions(dir, readManifest(dir), { device: 'cpu' });
  try {
    assert.deepEqual(
      { provider: s.report.provider, cpuFallback: s.report.cpuFallback, warnings: s.report.warnings },
      { provider: 'cpu', cpuFallback: false, warnings: [] },
    );
  } finally {
    await s.release();
  }
});
