// float64 building blocks for the reference forward pass. Matrices are row-major Float64Arrays.

/** y[s, n] = Σ_k x[s, k]·W[n, k] (+ b[n]) — PyTorch Linear with W [N, K]. */
export function linear(
  x: Float64Array,
  S: number,
  K: number,
  W: Float64Array,
  N: number,
  b?: Float64Array,
): Float64Array {
  const y = new Float64Array(S * N);
  for (let s = 0; s < S; s++) {
    const xo = s * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let acc = b ? b[n]! : 0;
      for (let k = 0; k < K; k++) acc += x[xo + k]! * W[wo + k]!;
      y[s * N + n] = acc;
    }
  }
  return y;
}

export function layerNorm(
  x: Float64Array,
  S: number,
  C: number,
  w: Float64Array,
  b: Float64Array,
  eps: number,
): Float64Array {
  const y = new Float64Array(S * C);
  for (let s = 0; s < S; s++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[s * C + c]!;
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[s * C + c]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[s * C + c] = (x[s * C + c]! - mean) * inv * w[c]! + b[c]!;
  }
  return y;
}

export function rmsNorm(x: Float64Array, S: number, C: number, w: Float64Array, eps: number): Float64Array {
  const y = new Float64Array(S * C);
  for (let s = 0; s < S; s++) {
    let ms = 0;
    for (let c = 0; c < C; c++) ms += x[s * C + c]! ** 2;
    const inv = 1 / Math.sqrt(ms / C + eps);
    for (let c = 0; c < C; c++) y[s * C + c] = x[s * C + c]! * inv * w[c]!;
  }
  return y;
}

/** erf to ~1e-13: Taylor series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) evaluated bottom-up.
  let f = ax;
  for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export const geluErf = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));
export const quickGelu = (x: number): number => x / (1 + Math.exp(-1.702 * x));
export const silu = (x: number): number => x / (1 + Math.exp(-x));

export function softmaxInPlace(v: Float64Array, n: number): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) m = Math.max(m, v[i]!);
  let s = 0;
  for (let i = 0; i < n; i++) {
    v[i] = Math.exp(v[i]! - m);
    s += v[i]!;
  }
  for (let i = 0; i < n; i++) v[i] = v[i]! / s;
}

export const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);
