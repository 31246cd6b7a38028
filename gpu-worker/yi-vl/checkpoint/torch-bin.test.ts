// fixtures/torch-small.bin was written by torch.save (torch 2.11) and torch-small.json holds the values torch saw.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { f32ToBf16 } from './dtypes.ts';
import { TorchBinFile } from './torch-bin.ts';
import { writeTorchBin } from './torch-bin-writer.ts';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

test('reads a real torch.save state dict: dtypes, shapes, strided views, storage offsets, parameters, scalars', () => {
  const want = JSON.parse(readFileSync(join(FIX, 'torch-small.json'), 'utf8')) as {
    tensors: Record<string, { dtype: string; shape: number[]; values: number[] }>;
  };
  const f = new TorchBinFile(join(FIX, 'torch-small.bin'));
  try {
    assert.deepEqual([...f.tensors.keys()].sort(), Object.keys(want.tensors).sort());
    const dtypes: Record<string, string> = { 'torch.bfloat16': 'BF16', 'torch.float32': 'F32', 'torch.float16': 'F16' };
    for (const [name, t] of Object.entries(want.tensors)) {
      const info = f.tensors.get(name)!;
      assert.equal(info.dtype, dtypes[t.dtype], name);
      assert.deepEqual(info.shape, t.shape, name);
      assert.deepEqual(Array.from(f.readF32(name)), t.values, name);
    }
  } finally {
    f.close();
  }
});

test('a file that is not a zip checkpoint gets a clear error', () => {
  assert.throws(() => new TorchBinFile(join(FIX, 'torch-small.json')), /not a zip-format PyTorch checkpoint/);
});

test('round trip through the writer, plain and zip64 (the format of the >4 GiB release shards)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'torch-bin-'));
  try {
    const a = Float32Array.from([1, -2, 3.5, 0.25, 8, -0.125]);
    const tensors = [
      { name: 'x.weight', dtype: 'BF16' as const, shape: [2, 3], data: new Uint8Array(f32ToBf16(a).buffer) },
      { name: 'y.bias', dtype: 'F32' as const, shape: [6], data: new Uint8Array(a.buffer) },
    ];
    for (const zip64 of [false, true]) {
      const path = join(dir, `m${zip64 ? 64 : 32}.bin`);
      writeTorchBin(path, tensors, { zip64 });
      const f = new TorchBinFile(path);
      assert.deepEqual(Array.from(f.readF32('x.weight')), Array.from(a));
      assert.deepEqual(Array.from(f.readF32('y.bias')), Array.from(a));
      assert.deepEqual(f.tensors.get('x.weight')!.shape, [2, 3]);
      f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
