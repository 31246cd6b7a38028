import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  buildLogitsProcessors,
  RepetitionPenaltyProcessor,
  TemperatureWarper,
  TopKWarper,
  TopPWarper,
} from './logits-processors.ts';

const NEG = Number.NEGATIVE_INFINITY;
const run = (p: { process(ids: readonly number[], l: Float32Array): void }, logits: number[], ids: number[] = []) => {
  const l = Float32Array.from(logits);
  p.process(ids, l);
  return [...l];
};

describe('logits processors (HF semantics)', () => {
  test('repetition penalty divides positive and multiplies negative logits of seen ids, once each', () => {
    assert.deepEqual(run(new RepetitionPenaltyProcessor(2), [2, -2, 1, 4], [0, 1, 0, -200]), [1, -4, 1, 4]);
  });

  test('temperature divides every logit', () => {
    assert.deepEqual(run(new TemperatureWarper(0.5), [1, -2, 0]), [2, -4, 0]);
  });

  test('top-k keeps the k largest, ties with the k-th included', () => {
    assert.deepEqual(run(new TopKWarper(2), [1, 3, 3, 2]), [NEG, 3, 3, NEG]);
    assert.deepEqual(run(new TopKWarper(3), [1, 3, 3, 2]), [NEG, 3, 3, 2]);
    assert.deepEqual(run(new TopKWarper(10), [1, 2]), [1, 2]);
  });

  test('top-p removes the low tail whose cumulative probability ≤ 1 − p', () => {
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
    const kept = (p: number) => run(new TopPWarper(p), logits).map((v) => v > NEG);
    assert.deepEqual(kept(0.75), [true, true, false, false]);
    assert.deepEqual(kept(0.4), [true, false, false, false]);
    assert.deepEqual(kept(0.9), [true, true, true, false]);
    assert.deepEqual(kept(1e-9), [true, false, false, false], 'always keeps one');
    assert.deepEqual(kept(1), [true, true, true, true]);
  });

  test('top-p equals the HF definition (ascending sort, cumulative ≤ 1 − p removed) on random logits', () => {
    const hf = (logits: number[], p: number) => {
      const order = logits.map((_, i) => i).sort((a, b) => logits[a]! - logits[b]!);
      const max = Math.max(...logits);
      const e = order.map((i) => Math.exp(logits[i]! - max));
      const z = e.reduce((a, b) => a + b, 0);
      const removed = new Set<number>();
      const borderline = new Set<number>(); // within float noise of the cut: either answer is right
      let cum = 0;
      order.forEach((i, j) => {
        cum += e[j]! / z;
        if (j < order.length - 1 && cum <= 1 - p) removed.add(i);
        if (Math.abs(cum - (1 - p)) < 1e-9) borderline.add(i);
      });
      return logits.map((_, i) => (borderline.has(i) ? null : !removed.has(i)));
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: -2000, max: 2000 }), { minLength: 1, maxLength: 60 }),
        fc.double({ min: 0.01, max: 1, noNaN: true }),
        (ints, p) => {
          const logits = ints.map((v) => v / 100);
          const got = run(new TopPWarper(p), logits).map((v) => v > NEG);
          const want = hf(logits, p);
          return got.every((k, i) => want[i] === null || k === want[i]);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('top-p ignores tokens already removed by top-k', () => {
    const l = run(new TopPWarper(0.5), [NEG, Math.log(0.6), Math.log(0.4)]);
    assert.deepEqual(
      l.map((v) => v > NEG),
      [false, true, false],
    );
  });

  test('HF order and switches: penalty, then temperature → top-k → top-p; greedy gets no warpers', () => {
    const names = (ps: object[]) => ps.map((p) => p.constructor.name);
    const params = { temperature: 0.6, topK: 50, topP: 0.8, repetitionPenalty: 1.1 };
    assert.deepEqual(names(buildLogitsProcessors(params, true)), [
      'RepetitionPenaltyProcessor',
      'TemperatureWarper',
      'TopKWarper',
      'TopPWarper',
    ]);
    assert.deepEqual(names(buildLogitsProcessors(params, false)), ['RepetitionPenaltyProcessor']);
    assert.deepEqual(
      names(buildLogitsProcessors({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 }, true)),
      [],
    );
  });

  test('invalid values are refused', () => {
    assert.throws(() => new TemperatureWarper(0), RangeError);
    assert.throws(() => new TopKWarper(0), RangeError);
    assert.throws(() => new TopPWarper(1.5), RangeError);
    assert.throws(() => new RepetitionPenaltyProcessor(0), RangeError);
  });
});
