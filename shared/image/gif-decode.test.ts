import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeGifFirstFrame } from './gif-decode.ts';
import { HeaderError } from './header-error.ts';

/** LZW without compression: 9-bit literal codes, a clear code before the table would widen the code size. */
function literalLzw(indices: number[]): number[] {
  const codes = [256];
  indices.forEach((v, i) => {
    if (i > 0 && i % 250 === 0) codes.push(256);
    codes.push(v);
  });
  codes.push(257);
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const c of codes) {
    acc |= c << bits;
    bits += 9;
    while (bits >= 8) {
      out.push(acc & 255);
      acc >>>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) out.push(acc & 255);
  const blocks: number[] = [];
  for (let i = 0; i < out.length; i += 255) {
    const chunk = out.slice(i, i + 255);
    blocks.push(chunk.length, ...chunk);
  }
  return [...blocks, 0];
}

function gif(opts: {
  screen: [number, number];
  frame: [number, number, number, number];
  rows: number[][];
  interlaced?: boolean;
  transparent?: number;
}): Uint8Array {
  const palette = new Array(256 * 3).fill(0);
  for (let i = 0; i < 256; i++) palette.splice(i * 3, 3, i, 255 - i, (i * 7) & 255);
  const [sw, sh] = opts.screen;
  const [fx, fy, fw, fh] = opts.frame;
  const order = opts.interlaced
    ? [...[0, 4, 2, 1].entries()].flatMap(([k, start]) => {
        const step = [8, 8, 4, 2][k]!;
        const ys: number[] = [];
        for (let y = start; y < fh; y += step) ys.push(y);
        return ys;
      })
    : opts.rows.map((_, y) => y);
  const le = (n: number) => [n & 255, n >> 8];
  return new Uint8Array([
    ...new TextEncoder().encode('GIF89a'),
    ...le(sw),
    ...le(sh),
    0xf7,
    0,
    0,
    ...palette,
    ...(opts.transparent === undefined ? [] : [0x21, 0xf9, 4, 1, 0, 0, opts.transparent, 0]),
    0x2c,
    ...le(fx),
    ...le(fy),
    ...le(fw),
    ...le(fh),
    opts.interlaced ? 0x40 : 0,
    8,
    ...literalLzw(order.flatMap((y) => opts.rows[y]!)),
    0x3b,
  ]);
}

describe('GIF first-frame decoder', () => {
  const rows = Array.from({ length: 9 }, (_, y) => Array.from({ length: 5 }, (_, x) => y * 10 + x));
  const px = (d: Uint8Array, w: number, x: number, y: number) => [...d.subarray((y * w + x) * 4, (y * w + x) * 4 + 4)];

  test('plain and interlaced frames decode to the same rows', () => {
    for (const interlaced of [false, true]) {
      const f = decodeGifFirstFrame(gif({ screen: [5, 9], frame: [0, 0, 5, 9], rows, interlaced }));
      for (let y = 0; y < 9; y++) {
        for (let x = 0; x < 5; x++) {
          const i = y * 10 + x;
          assert.deepEqual(
            px(f.data, 5, x, y),
            [i, 255 - i, (i * 7) & 255, 255],
            `interlaced=${interlaced} (${x},${y})`,
          );
        }
      }
    }
  });

  test('frame offset, transparency and a 600-pixel frame (clear codes mid-stream)', () => {
    const big = Array.from({ length: 20 }, (_, y) => Array.from({ length: 30 }, (_, x) => (x + y) % 200));
    const f = decodeGifFirstFrame(gif({ screen: [40, 30], frame: [5, 4, 30, 20], rows: big, transparent: 3 }));
    assert.deepEqual([f.width, f.height], [40, 30]);
    assert.deepEqual(px(f.data, 40, 0, 0), [0, 0, 0, 0], 'outside the frame: transparent');
    assert.deepEqual(px(f.data, 40, 5 + 10, 4 + 2), [12, 243, 84, 255]);
    assert.deepEqual(px(f.data, 40, 5 + 3, 4), [0, 0, 0, 0], 'transparent index');
  });

  test('corrupt or short LZW data throws HeaderError instead of looping', () => {
    const good = gif({ screen: [5, 9], frame: [0, 0, 5, 9], rows });
    const short = good.slice(0, good.length - 20);
    assert.throws(() => decodeGifFirstFrame(short), HeaderError);
    const garbage = good.slice();
    for (let i = 800; i < garbage.length - 2; i++) garbage[i] = 0xff;
    assert.throws(() => decodeGifFirstFrame(garbage), HeaderError);
  });
});
