import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { argmax, GreedySampler, MultinomialSampler, SeededRandom } from './sampler.ts';

describe('sampler', () => {
  test('argmax returns the first maximum', () => {
    assert.equal(argmax([1, 5, 5, 2]), 1);
    assert.equal(new GreedySampler().choose(Float32Array.from([-1, -3, 0.5])), 2);
  });

  test('the PRNG is deterministic per seed and different across seeds', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.nextUint32()
        )(new SeededRandom(seed)),
      );
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.notDeepEqual(draw(0), draw(2 ** 32));
    const r = new SeededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
    }
  });

  test('seeded sampling reproduces the same tokens; -inf tokens are never drawn', () => {
    const logits = Float32Array.from([0, 1, Number.NEGATIVE_INFINITY, 2, 0.5]);
    const seq = (seed: number) => {
      const s = new MultinomialSampler(seed);
      return Array.from({ length: 200 }, () => s.choose(logits));
    };
    assert.deepEqual(seq(1234), seq(1234));
    assert.notDeepEqual(seq(1234), seq(4321));
    assert.ok(!seq(99).includes(2));
  });

  test('draws follow softmax(logits)', () => {
    const s = new MultinomialSampler(5);
    const logits = Float32Array.from([Math.log(0.25), Math.log(0.75)]);
    let ones = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) ones += s.choose(logits);
    assert.ok(Math.abs(ones / n - 0.75) < 0.03, `frequency ${ones / n}`);
  });

  test('seeds must be non-negative integers', () => {
    assert.throws(() => new SeededRandom(-1), RangeError);
    assert.throws(() => new SeededRandom(1.5), RangeError);
  });
});
