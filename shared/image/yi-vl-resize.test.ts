import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { padAndResize, squarePlacement, YI_VL_PAD_RGB } from './yi-vl-resize.ts';

// Digests of Pillow 9.4 `Image.new('RGB', (s, s), (122,116,104)).paste(im, floor offsets).resize((448,448), BICUBIC)`
// on the same LCG noise (noise is the hardest case for fixed-point parity). Generated once with Pillow; see the
// report for the script.
const PIL_DIGESTS: [number, number, number, string][] = [
  [1, 1, 1, '29b62288493aa48c2dcbd990866d5acf386056ac57762f95787ef34d0478b951'],
  [37, 91, 2, '10246e7badac9082d06ddcf5c8f9147c0f1f21ab894477289eedfac5af5c5a87'],
  [500, 300, 3, '7f445671ae728d89556f93a46bf86175d9e28f25ab19815b9e496e7cbc69e410'],
  [1000, 37, 4, '53fbd218c083cd863a8f35d9e254c808301fa9690efbe5d4ad2ed32c84a1d852'],
  [448, 200, 5, '5ced9ad9f3c5c784c8f31e416cbd3b6a47eaf8821ae57df1f98e339d5511ed85'],
  [300, 448, 6, '7975edade22dbb3f3c16dc2c69145765247102f39b029c148a0b2429a06162f1'],
  [449, 449, 7, '4808fa621bdeba213f944fd1c9b30de1d30a2052fadf7480bed3f5a8153feb22'],
  [3000, 12, 8, 'bb5274a31c3f757b328310945999d1a44d1de92d0f9efba9de6258572e328ec8'],
  [2, 1, 9, '1be27088a036ddd1d17070249016481c826b9e68a7876aaab7923ffe299c33f7'],
];

function noise(width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = Number((BigInt(x) * 1103515245n + 12345n) & 0x7fffffffn);
    out[i] = (x >> 16) & 255;
  }
  return out;
}

describe('padAndResize (PIL bicubic port)', () => {
  for (const [w, h, seed, digest] of PIL_DIGESTS) {
    test(`${w}×${h} matches Pillow bit for bit`, () => {
      const out = padAndResize(noise(w, h, seed), w, h);
      assert.equal(out.length, 448 * 448 * 3);
      assert.equal(createHash('sha256').update(out).digest('hex'), digest);
    });
  }

  test('floor offsets centre the original', () => {
    assert.deepEqual(squarePlacement(10, 7), { side: 10, left: 0, top: 1 });
    assert.deepEqual(squarePlacement(4, 9), { side: 9, left: 2, top: 0 });
  });

  test('pad regions are exactly the pad colour', () => {
    const w = 1000;
    const h = 100;
    const out = padAndResize(new Uint8Array(w * h * 3).fill(255), w, h);
    for (const y of [0, 100, 347, 447]) {
      for (const x of [0, 200, 447])
        assert.deepEqual([...out.subarray((y * 448 + x) * 3, (y * 448 + x) * 3 + 3)], [...YI_VL_PAD_RGB]);
    }
    assert.deepEqual([...out.subarray((224 * 448 + 224) * 3, (224 * 448 + 224) * 3 + 3)], [255, 255, 255]);
  });
});
