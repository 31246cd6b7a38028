/**
 * Yi-VL's geometry, bit-exact with the reference (yi-vl-spec §2): pad to a square with RGB (122,116,104), the original
 * centred at floor offsets, then PIL's 8-bit BICUBIC resample (a = −0.5, antialiased, 22-bit fixed point, horizontal
 * pass into an 8-bit intermediate, then vertical) to 448×448.
 *
 * The padded square is never materialised: pad pixels contribute a precomputed weight × pad colour, and every pad row
 * of the intermediate is identical, so memory stays O(width × height) even for 16000×10 inputs.
 * Runtime-neutral (typed arrays only).
 */

export const YI_VL_SIZE = 448;
export const YI_VL_PAD_RGB = [122, 116, 104] as const;

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_MAX = 1 << (PRECISION_BITS + 8);

export interface SquarePlacement {
  side: number;
  left: number;
  top: number;
}

/** Where the original lands on the padded square. */
export function squarePlacement(width: number, height: number): SquarePlacement {
  const side = Math.max(width, height);
  return { side, left: Math.floor((side - width) / 2), top: Math.floor((side - height) / 2) };
}

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Taps {
  /** First source index per output index. */
  start: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `stride` per output index. */
  weights: Int32Array;
  stride: number;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc.
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * stride);
  const k = new Float64Array(stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[i * stride + x] =
        w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[i] = xmin;
    count[i] = xmax;
  }
  return { start, count, weights, stride };
}

function clip8(v: number): number {
  return v >= CLIP_MAX ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS;
}

/** Splits each output index's taps into the image part and the summed weight that falls on padding. */
function splitTaps(t: Taps, imageStart: number, imageLength: number) {
  const n = t.start.length;
  const first = new Int32Array(n); // first image tap index (into the tap list)
  const last = new Int32Array(n); // one past the last image tap
  const padWeight = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let a = -1;
    let b = -1;
    let pw = 0;
    for (let j = 0; j < t.count[i]!; j++) {
      const src = t.start[i]! + j;
      if (src >= imageStart && src < imageStart + imageLength) {
        if (a < 0) a = j;
        b = j + 1;
      } else {
        pw += t.weights[i * t.stride + j]!;
      }
    }
    first[i] = Math.max(a, 0);
    last[i] = Math.max(b, 0);
    padWeight[i] = pw;
  }
  return { first, last, padWeight };
}

/**
 * Pads `rgb` (width × height × 3, 8-bit) to a square and resizes it to size × size exactly like Yi-VL's reference.
 */
export function padAndResize(rgb: Uint8Array, width: number, height: number, size = YI_VL_SIZE): Uint8Array {
  if (rgb.length !== width * height * 3) throw new RangeError('rgb buffer does not match width × height × 3');
  const { side, left, top } = squarePlacement(width, height);
  const pad = YI_VL_PAD_RGB;
  const out = new Uint8Array(size * size * 3);

  if (side === size) {
    for (let i = 0; i < size * size; i++) out.set(pad, i * 3);
    for (let y = 0; y < height; y++)
      out.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), ((top + y) * size + left) * 3);
    return out;
  }

  const t = taps(side, size);
  const { stride, weights } = t;

  // Horizontal pass over the image rows (columns left..left+width of the padded row), and once over a pad row.
  const h = splitTaps(t, left, width);
  const rows = new Uint8Array(height * size * 3);
  const padRow = new Uint8Array(size * 3);
  for (let x = 0; x < size; x++) {
    for (let c = 0; c < 3; c++) {
      let s = HALF;
      for (let j = 0; j < t.count[x]!; j++) s += weights[x * stride + j]! * pad[c]!;
      padRow[x * 3 + c] = clip8(s);
    }
  }
  for (let y = 0; y < height; y++) {
    const inRow = y * width * 3;
    const outRow = y * size * 3;
    for (let x = 0; x < size; x++) {
      const pw = h.padWeight[x]!;
      let s0 = HALF + pw * pad[0];
      let s1 = HALF + pw * pad[1];
      let s2 = HALF + pw * pad[2];
      const wBase = x * stride;
      let src = inRow + (t.start[x]! + h.first[x]! - left) * 3;
      for (let j = h.first[x]!; j < h.last[x]!; j++, src += 3) {
        const w = weights[wBase + j]!;
        s0 += rgb[src]! * w;
        s1 += rgb[src + 1]! * w;
        s2 += rgb[src + 2]! * w;
      }
      rows[outRow + x * 3] = clip8(s0);
      rows[outRow + x * 3 + 1] = clip8(s1);
      rows[outRow + x * 3 + 2] = clip8(s2);
    }
  }

  // Vertical pass: source rows top..top+height come from `rows`, the rest are `padRow`.
  const v = splitTaps(t, top, height);
  const rowLen = size * 3;
  const acc = new Int32Array(rowLen);
  for (let y = 0; y < size; y++) {
    const pw = v.padWeight[y]!;
    for (let i = 0; i < rowLen; i++) acc[i] = HALF + pw * padRow[i]!;
    const wBase = y * stride;
    for (let j = v.first[y]!; j < v.last[y]!; j++) {
      const w = weights[wBase + j]!;
      const r = (t.start[y]! + j - top) * rowLen;
      for (let i = 0; i < rowLen; i++) acc[i] = acc[i]! + rows[r + i]! * w;
    }
    const o = y * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return out;
}
