import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { heifTransformToOrientation } from './avif-header.ts';
import { exifOrientation } from './exif.ts';
import { sniffFormat } from './formats.ts';
import { HeaderError, jpegHasEndMarker, readImageHeader } from './header.ts';

const make = async (format: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif', w: number, h: number, orientation?: number) => {
  let s = sharp({ create: { width: w, height: h, channels: 3, background: '#808080' } });
  if (orientation) s = s.withMetadata({ orientation });
  const b = await s.toFormat(format, format === 'avif' ? { effort: 0 } : {}).toBuffer();
  return new Uint8Array(b);
};

describe('header reading without decoding', () => {
  for (const format of ['jpeg', 'png', 'webp', 'gif', 'avif'] as const) {
    test(`${format}: sniffed and sized from the header`, async () => {
      const bytes = await make(format, 123, 45);
      assert.equal(sniffFormat(bytes), format);
      const h = readImageHeader(bytes, format);
      assert.deepEqual([h.width, h.height, h.orientedWidth, h.orientedHeight], [123, 45, 123, 45]);
    });
  }

  test('lossy WebP (VP8) and lossless (VP8L) headers', async () => {
    const lossy = new Uint8Array(
      await sharp({ create: { width: 77, height: 33, channels: 3, background: '#123' } })
        .webp()
        .toBuffer(),
    );
    const lossless = new Uint8Array(
      await sharp({ create: { width: 77, height: 33, channels: 3, background: '#123' } })
        .webp({ lossless: true })
        .toBuffer(),
    );
    for (const b of [lossy, lossless])
      assert.deepEqual([readImageHeader(b, 'webp').width, readImageHeader(b, 'webp').height], [77, 33]);
  });

  test('EXIF orientation swaps the oriented size for 5–8', async () => {
    for (let o = 1; o <= 8; o++) {
      const h = readImageHeader(await make('jpeg', 30, 20, o), 'jpeg');
      assert.equal(h.orientation, o);
      assert.deepEqual([h.orientedWidth, h.orientedHeight], o >= 5 ? [20, 30] : [30, 20]);
    }
  });

  test('truncated headers throw HeaderError', async () => {
    const png = await make('png', 10, 10);
    assert.throws(() => readImageHeader(png.slice(0, 20), 'png'), HeaderError);
    const jpeg = await make('jpeg', 10, 10);
    assert.throws(() => readImageHeader(jpeg.slice(0, 30), 'jpeg'), HeaderError);
    const avif = await make('avif', 10, 10);
    assert.throws(() => readImageHeader(avif.slice(0, 40), 'avif'), HeaderError);
  });

  test('JPEG end marker detects truncated scans', async () => {
    const jpeg = await make('jpeg', 64, 64);
    assert.equal(jpegHasEndMarker(jpeg), true);
    assert.equal(jpegHasEndMarker(jpeg.slice(0, jpeg.length - 10)), false);
  });

  test('AVIF: the primary item’s ispe, irot and imir are found through pitm/ipma', () => {
    const enc = new TextEncoder();
    const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    const box = (type: string, payload: number[]) => [...u32(8 + payload.length), ...enc.encode(type), ...payload];
    const full = (type: string, payload: number[]) => box(type, [0, 0, 0, 0, ...payload]);
    const avif = (turns: number | undefined, mirror: number | undefined, primary = 1) => {
      const props = [full('ispe', [...u32(300), ...u32(200)])];
      if (turns !== undefined) props.push(box('irot', [turns]));
      if (mirror !== undefined) props.push(box('imir', [mirror]));
      // Item 2 is a decoy (e.g. a thumbnail) with its own, huge ispe: only the primary item counts.
      const decoy = full('ispe', [...u32(9999), ...u32(9999)]);
      const assoc = props.map((_, i) => 0x80 | (i + 1));
      const ipma = full('ipma', [...u32(2), 0, 1, assoc.length, ...assoc, 0, 2, 1, props.length + 1]);
      const meta = full('meta', [
        ...full('hdlr', [0, 0, 0, 0, ...enc.encode('pict'), ...new Array(13).fill(0)]),
        ...full('pitm', [0, primary]),
        ...box('iprp', [...box('ipco', [...props.flat(), ...decoy]), ...ipma]),
      ]);
      return new Uint8Array([...box('ftyp', [...enc.encode('avif'), 0, 0, 0, 0, ...enc.encode('mif1avif')]), ...meta]);
    };
    const read = (b: Uint8Array) => {
      assert.equal(sniffFormat(b), 'avif');
      const h = readImageHeader(b, 'avif');
      return [h.width, h.height, h.orientation, h.orientedWidth, h.orientedHeight];
    };
    assert.deepEqual(read(avif(undefined, undefined)), [300, 200, 1, 300, 200]);
    assert.deepEqual(read(avif(1, undefined)), [300, 200, 8, 200, 300]);
    assert.deepEqual(read(avif(3, 1)), [300, 200, 5, 200, 300]);
    assert.deepEqual(read(avif(undefined, 0)), [300, 200, 4, 300, 200]);
    assert.deepEqual(read(avif(undefined, undefined, 2)), [9999, 9999, 1, 9999, 9999]);
  });

  test('HEIF irot/imir map to EXIF orientations like libavif', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => heifTransformToOrientation(t, undefined)),
      [1, 8, 3, 6],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => heifTransformToOrientation(t, 0)),
      [4, 5, 2, 7],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => heifTransformToOrientation(t, 1)),
      [2, 7, 4, 5],
    );
  });

  test('malformed EXIF yields orientation 1', () => {
    assert.equal(exifOrientation(new Uint8Array([0x49, 0x49, 42, 0, 0xff, 0xff, 0xff, 0xff])), 1);
    assert.equal(exifOrientation(new Uint8Array(3)), 1);
  });
});
