import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { f32ToBf16, f32ToF16 } from './dtypes.ts';
import { SafetensorsFile, writeSafetensors } from './safetensors.ts';

describe('safetensors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('round-trips F32, BF16 and F16 tensors; header is 8-byte aligned', () => {
    const vals = Float32Array.from([1, -2.5, 0.15625, 3e-5, 65504, -0]);
    const path = join(dir, 'a.safetensors');
    writeSafetensors(
      path,
      [
        { name: 'f32', dtype: 'F32', shape: [2, 3], data: new Uint8Array(vals.buffer) },
        { name: 'bf16', dtype: 'BF16', shape: [6], data: new Uint8Array(f32ToBf16(vals).buffer) },
        { name: 'f16', dtype: 'F16', shape: [3, 2], data: new Uint8Array(f32ToF16(vals).buffer) },
      ],
      { format: 'pt' },
    );
    const headerLen = Number(readFileSync(path).readBigUInt64LE(0));
    assert.equal(headerLen % 8, 0);
    const f = new SafetensorsFile(path);
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual(f.tensors.get('f16')!.shape, [3, 2]);
    assert.deepEqual(Array.from(f.readF32('f32')), Array.from(vals));
    assert.deepEqual(Array.from(f.readF32('f16')), [1, -2.5, 0.15625, 0.000029981136322021484, 65504, -0]);
    const bf = Array.from(f.readF32('bf16'));
    assert.equal(bf[1], -2.5);
    assert.ok(Math.abs(bf[3]! - 3e-5) / 3e-5 < 2 ** -8);
    assert.throws(() => f.readF32('nope'), /no tensor nope/);
    f.close();
  });

  test('rejects truncated or inconsistent files', () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, Buffer.from([1, 2, 3]));
    assert.throws(() => new SafetensorsFile(path), /not a safetensors file/);
    const header = Buffer.from(JSON.stringify({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(path, Buffer.concat([len, header, Buffer.alloc(8)]));
    assert.throws(() => new SafetensorsFile(path), /inconsistent offsets/);
  });
});
