/**
 * RGBA → oriented RGB in one pass, for decoders that neither orient nor flatten (the WASM codecs): alpha is
 * composited onto `background` (rounded like libvips' flatten) and each pixel is written straight to where the
 * EXIF orientation puts it, so no intermediate copy is made (Workers isolates have 128 MB).
 */
import type { Orientation } from './exif.ts';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export function rgbaToOrientedRgb(
  rgba: Uint8Array,
  width: number,
  height: number,
  orientation: Orientation,
  background: readonly [number, number, number],
): RgbImage {
  const w = width;
  const h = height;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const out = new Uint8Array(w * h * 3);
  const [br, bg, bb] = background;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let dx: number;
      let dy: number;
      switch (orientation) {
        case 2:
          dx = w - 1 - x;
          dy = y;
          break;
        case 3:
          dx = w - 1 - x;
          dy = h - 1 - y;
          break;
        case 4:
          dx = x;
          dy = h - 1 - y;
          break;
        case 5:
          dx = y;
          dy = x;
          break;
        case 6:
          dx = h - 1 - y;
          dy = x;
          break;
        case 7:
          dx = h - 1 - y;
          dy = w - 1 - x;
          break;
        case 8:
          dx = y;
          dy = w - 1 - x;
          break;
        default:
          dx = x;
          dy = y;
      }
      const s = (y * w + x) * 4;
      const d = (dy * ow + dx) * 3;
      const a = rgba[s + 3]!;
      if (a === 255) {
        out[d] = rgba[s]!;
        out[d + 1] = rgba[s + 1]!;
        out[d + 2] = rgba[s + 2]!;
      } else {
        out[d] = Math.round((rgba[s]! * a + br * (255 - a)) / 255);
        out[d + 1] = Math.round((rgba[s + 1]! * a + bg * (255 - a)) / 255);
        out[d + 2] = Math.round((rgba[s + 2]! * a + bb * (255 - a)) / 255);
      }
    }
  }
  return { data: out, width: ow, height: swap ? w : h };
}
