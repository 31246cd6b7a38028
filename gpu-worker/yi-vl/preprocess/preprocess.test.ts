import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { CLIP_MEAN, CLIP_STD, normalizeRgbToNchw } from './clip-normalize.ts';
import { decode448, ImageInputError } from './decode.ts';

const png = (w: number, h: number, rgb: [number, number, number], alpha = false) =>
  sharp({
    create: { width: w, height: h, channels: alpha ? 4 : 3, background: { r: rgb[0], g: rgb[1], b: rgb[2], alpha: 1 } },
  })
    .png()
    .toBuffer();

describe('CLIP normalisation', () => {
  test('NCHW layout, channel order R,G,B, float32 rounding as the reference', () => {
    const rgb = new Uint8Array(2 * 1 * 3);
    rgb.set([255, 0, 128, 0, 255, 10]);
    const out = normalizeRgbToNchw(rgb, 2, 1);
    const f = Math.fround;
    const want = (v: number, c: number) => f(f(f(v * (1 / 255)) - f(CLIP_MEAN[c]!)) / f(CLIP_STD[c]!));
    assert.deepEqual([...out], [want(255, 0), want(0, 0), want(0, 1), want(255, 1), want(128, 2), want(10, 2)]);
    assert.ok(Math.abs(out[0]! - (1 - 0.48145466) / 0.26862954) < 1e-6);
  });
  test('wrong buffer size is refused', () => {
    assert.throws(() => normalizeRgbToNchw(new Uint8Array(10)), RangeError);
  });
});

describe('image decoding', () => {
  test('a 448×448 PNG decodes to RGB bytes; alpha is dropped', async () => {
    const data = await decode448(await png(448, 448, [10, 20, 30], true));
    assert.equal(data.length, 448 * 448 * 3);
    assert.deepEqual([...data.subarray(0, 6)], [10, 20, 30, 10, 20, 30]);
  });
  test('a 16-bit PNG is reduced to 8 bits per channel', async () => {
    const raw = new Uint16Array(448 * 448 * 3).fill(0x8080);
    const png16 = await sharp(raw, { raw: { width: 448, height: 448, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    assert.equal((await sharp(png16).metadata()).depth, 'ushort');
    const data = await decode448(png16);
    assert.equal(data.length, 448 * 448 * 3);
    assert.equal(data[0], 0x80);
  });

  test('other sizes and garbage are refused with ImageInputError', async () => {
    await assert.rejects(decode448(await png(100, 100, [0, 0, 0])), ImageInputError);
    await assert.rejects(decode448(new Uint8Array([1, 2, 3])), ImageInputError);
  });
});
