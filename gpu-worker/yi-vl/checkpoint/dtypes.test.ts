import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bf16ToF32, f16BitsToF32, f16ToF32, f32ToBf16, f32ToF16, f32ToF16Bits } from './dtypes.ts';

test('float16: every non-NaN half survives f16 → f32 → f16', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    if ((i & 0x7c00) === 0x7c00 && i & 0x3ff) continue;
    assert.equal(back[i], i, `bits ${i.toString(16)}`);
  }
});

test('float16: rounding to nearest even, overflow, subnormals', () => {
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(f32ToF16Bits(65520), 0x7c00);
  assert.equal(f32ToF16Bits(-1e9), 0xfc00);
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001);
  assert.equal(f16BitsToF32(0x0001), 2 ** -24);
  assert.equal(f32ToF16Bits(2 ** -26), 0);
});

test('bfloat16: round to nearest even', () => {
  const v = Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.140625]);
  assert.deepEqual(Array.from(bf16ToF32(f32ToBf16(v))), [1, 1, 1 + 2 ** -6, -3.140625]);
});
