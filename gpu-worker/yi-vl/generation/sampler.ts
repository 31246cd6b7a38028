// Token choice: greedy argmax, or a draw from softmax(logits) with a seeded PRNG so that a (seed, logits)
// sequence always yields the same tokens, on any machine and across runs.
import { softmaxOf } from './logits-processors.ts';

/** Index of the first maximum (torch.argmax semantics). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i]! > max) {
      max = logits[i]!;
      best = i;
    }
  }
  return best;
}

/** sfc32 seeded through splitmix32: small, fast and fully specified, so reproducible everywhere. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    let s = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }
}

export interface Sampler {
  readonly kind: 'greedy' | 'sample';
  choose(logits: Float32Array): number;
}

export class GreedySampler implements Sampler {
  readonly kind = 'greedy';
  choose(logits: Float32Array): number {
    return argmax(logits);
  }
}

/**
 * The id a uniform `u` in [0, 1) picks from softmax(logits): the first id whose cumulative probability (float64,
 * summed in id order) exceeds u.
 */
export function drawFrom(logits: Float32Array, u: number): number {
  const probs = softmaxOf(logits);
  let cum = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (p === 0) continue;
    cum += p;
    last = i;
    if (u < cum) return i;
  }
  return last >= 0 ? last : argmax(logits); // rounding left u ≥ cum: take the last possible token
}

export class MultinomialSampler implements Sampler {
  readonly kind = 'sample';
  private readonly rng: SeededRandom;
  /** uniforms drawn ahead for choices made elsewhere and not used yet, in stream order */
  private readonly ahead: number[] = [];
  constructor(readonly seed: number) {
    this.rng = new SeededRandom(seed);
  }
  choose(logits: Float32Array): number {
    return drawFrom(logits, this.take());
  }
  /**
   * The uniforms of the next `n` choices, drawn ahead from the stream: a decoder that draws with them (the in-graph
   * loop) makes the choices this sampler would, and each choice it makes is recorded with `skip()`. Uniforms it does
   * not use stay for the next choices.
   */
  peekUniforms(n: number): Float64Array {
    while (this.ahead.length < n) this.ahead.push(this.rng.next());
    return Float64Array.from(this.ahead.slice(0, n));
  }
  /** Records a choice made elsewhere with the next uniform. */
  skip(): void {
    this.take();
  }
  private take(): number {
    return this.ahead.shift() ?? this.rng.next();
  }
}
