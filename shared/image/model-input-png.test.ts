import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { MODEL_INPUT_PNG_LEVEL } from './model-input-png.ts';
import { preprocessForYiVl } from './sharp-preprocess.ts';

/** zlib's FLEVEL (header bits 6–7) as zlib writes it for a compression level: 0 fastest, 1 fast, 2 default, 3 max. */
const flevelOf = (level: number) => (level <= 1 ? 0 : level <= 5 ? 1 : level === 6 ? 2 : 3);

/** The FLEVEL bits of the first IDAT chunk's zlib stream. */
function idatFlevel(png: Uint8Array): number {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 8 <= png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (type === 'IDAT') return png[at + 9]! >> 6;
    at += 12 + length;
  }
  throw new Error('no IDAT chunk');
}

test('the model-input PNG is deflated at MODEL_INPUT_PNG_LEVEL (downscale and upscale paths)', async () => {
  for (const [w, h] of [
    [900, 600],
    [300, 200],
  ] as const) {
    const jpeg = await sharp({
      create: {
        width: w,
        height: h,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .jpeg()
      .toBuffer();
    const { png } = await preprocessForYiVl(new Uint8Array(jpeg));
    assert.equal(idatFlevel(png), flevelOf(MODEL_INPUT_PNG_LEVEL), `${w}×${h}`);
    const meta = await sharp(png).metadata();
    assert.equal(meta.width, 448);
    assert.equal(meta.height, 448);
  }
});

test('the level is the cheap end of zlib: chosen by CPU, not size (docs/performance.md)', () => {
  assert.ok(MODEL_INPUT_PNG_LEVEL >= 0 && MODEL_INPUT_PNG_LEVEL <= 2, String(MODEL_INPUT_PNG_LEVEL));
});
