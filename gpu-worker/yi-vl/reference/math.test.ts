import assert from 'node:assert/strict';
import { test } from 'node:test';
import { erf, geluErf, layerNorm, linear, rmsNorm, softmaxInPlace } from './math.ts';

test('erf matches tabulated values to 1e-12 across the series / continued-fraction switch', () => {
  const table: [number, number][] = [
    [0, 0],
    [0.5, 0.5204998778130465],
    [-1, -0.8427007929497149],
    [2.5, 0.999593047982555],
    [2.999, 0.9999777698314002],
    [3.001, 0.9999780483390822],
    [3.5, 0.9999992569016276],
    [5, 0.9999999999984626],
  ];
  for (const [x, want] of table) assert.ok(Math.abs(erf(x) - want) < 1e-12, `erf(${x}) = ${erf(x)}`);
  assert.ok(Math.abs(geluErf(1) - 0.8413447460685429) < 1e-12);
});

test('linear, layerNorm, rmsNorm and softmax on hand-computed cases', () => {
  // [1, 2] · [[1, 0], [2, 1], [0, 3]]ᵀ + [0, 1, 2] = [1, 5, 8]
  assert.deepEqual(
    Array.from(linear(Float64Array.of(1, 2), 1, 2, Float64Array.of(1, 0, 2, 1, 0, 3), 3, Float64Array.of(0, 1, 2))),
    [1, 5, 8],
  );
  const ln = layerNorm(Float64Array.of(1, 3), 1, 2, Float64Array.of(1, 2), Float64Array.of(0, 1), 0);
  assert.deepEqual(Array.from(ln), [-1, 3]);
  const rms = rmsNorm(Float64Array.of(3, 4), 1, 2, Float64Array.of(1, 1), 0);
  assert.ok(Math.abs(rms[0]! - 3 / Math.sqrt(12.5)) < 1e-15);
  const p = Float64Array.of(0, Math.log(3));
  softmaxInPlace(p, 2);
  assert.ok(Math.abs(p[0]! - 0.25) < 1e-15 && Math.abs(p[1]! - 0.75) < 1e-15);
});
