// uint8 RGB (HWC) → float32 NCHW with the CLIP mean/std (spec §2.1 steps 5–7), rounding like the reference:
// x·(1/255) rounded to float32, then (x − mean) / std in float32.

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
export const IMAGE_SIZE = 448;

export function normalizeRgbToNchw(rgb: Uint8Array, width = IMAGE_SIZE, height = IMAGE_SIZE): Float32Array {
  const plane = width * height;
  if (rgb.length !== plane * 3) {
    throw new RangeError(`expected ${width}×${height}×3 = ${plane * 3} RGB bytes, got ${rgb.length}`);
  }
  const f = Math.fround;
  // 256 possible inputs per channel: precompute the three lookup tables.
  const luts = [0, 1, 2].map((c) => {
    const mean = f(CLIP_MEAN[c]!);
    const std = f(CLIP_STD[c]!);
    return Float32Array.from({ length: 256 }, (_, v) => f(f(f(v * (1 / 255)) - mean) / std));
  });
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const lut = luts[c]!;
    const base = c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = lut[rgb[i * 3 + c]!]!;
  }
  return out;
}
