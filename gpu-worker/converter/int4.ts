// Block-wise symmetric 4-bit quantization in the MatMulNBits layout (com.microsoft, bits = 4, no zero points).

export interface Int4Weights {
  /** uint8 [N, kBlocks, blockSize / 2]: two values per byte along K, low nibble first */
  packed: Uint8Array;
  /** [N, kBlocks] */
  scales: Float32Array;
  kBlocks: number;
}

/**
 * Quantizes a row-major [N, K] weight (PyTorch Linear layout). Each block of `blockSize` values along K gets
 * scale = max|w| / 7 and codes q = round(w / scale) + 8 in [1, 15]; the omitted zero point defaults to 8.
 */
export function quantizeInt4(w: Float32Array, N: number, K: number, blockSize: number): Int4Weights {
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
    throw new Error(`block size ${blockSize}: must be a power of 2, ≥ 16`);
  const kBlocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  for (let n = 0; n < N; n++) {
    const row = n * K;
    for (let b = 0; b < kBlocks; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let amax = 0;
      for (let k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(w[row + k]!));
      const scale = amax / 7;
      // Store the scale as float32 but quantize against the exact value the kernel will see.
      const s = Math.fround(scale);
      scales[n * kBlocks + b] = s;
      const inv = s === 0 ? 0 : 1 / s;
      const base = (n * kBlocks + b) * blob;
      for (let k = k0; k < k0 + blockSize; k += 2) {
        const lo = k < k1 ? Math.min(15, Math.max(0, Math.round(w[row + k]! * inv) + 8)) : 8;
        const hi = k + 1 < k1 ? Math.min(15, Math.max(0, Math.round(w[row + k + 1]! * inv) + 8)) : 8;
        packed[base + (k - k0) / 2] = lo | (hi << 4);
      }
    }
  }
  return { packed, scales, kBlocks };
}

/** The [N, K] weight the kernel effectively multiplies with (for tests and the reference). */
export function dequantizeInt4(
  q: Int4Weights,
  N: number,
  K: number,
  blockSize: number,
  scales = q.scales,
): Float32Array {
  const out = new Float32Array(N * K);
  const blob = blockSize / 2;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const byte = q.packed[(n * q.kBlocks + b) * blob + Math.floor((k % blockSize) / 2)]!;
      const code = k % 2 === 0 ? byte & 15 : byte >> 4;
      out[n * K + k] = (code - 8) * scales[n * q.kBlocks + b]!;
    }
  }
  return out;
}
