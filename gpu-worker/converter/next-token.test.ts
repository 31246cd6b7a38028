// The in-graph next-token choice (builder/next-token.ts) against the JS processors and sampler the step loop uses:
// the same ids for the same logits, parameters and uniforms, row by row in mixed batches, ties at the top-k and
// top-p cuts included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from '../onnx/runtime.ts';
import { Rng } from '../yi-vl/checkpoint/rng.ts';
import {
  applyProcessors,
  buildLogitsProcessors,
  type SamplingParams,
  softmaxOf,
} from '../yi-vl/generation/logits-processors.ts';
import { argmax, drawFrom, SeededRandom } from '../yi-vl/generation/sampler.ts';
import { nextTokenGraph, TOP_P_CANDIDATES } from './builder/next-token.ts';

interface Row extends SamplingParams {
  logits: Float32Array;
  seen: number[];
  u: number;
}

/** What SequenceState.accept chooses: processors (HF order) on the first `vocab` logits, then argmax or a draw. */
function jsChoice(r: Row, vocab: number): number {
  const row = r.logits.slice(0, vocab);
  const sampling = r.temperature > 0;
  applyProcessors(buildLogitsProcessors(r, sampling), r.seen, row);
  return sampling ? drawFrom(row, r.u) : argmax(row);
}

describe('in-graph next-token choice', () => {
  let root: string;
  let session: ort.InferenceSession;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-next-token-'));
    const path = join(root, 'next_token.onnx');
    writeFileSync(path, nextTokenGraph().encode());
    session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
  });
  after(async () => {
    await session?.release();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function graphChoices(rows: readonly Row[], vocab: number): Promise<number[]> {
    const R = rows.length;
    const width = rows[0]!.logits.length;
    const logits = new Float32Array(R * width);
    // each row's seen ids, padded by repeating its first (a repeat changes nothing)
    const S = Math.max(1, ...rows.map((r) => r.seen.length));
    const seen = new BigInt64Array(R * S);
    rows.forEach((r, b) => {
      logits.set(r.logits, b * width);
      for (let i = 0; i < S; i++) seen[b * S + i] = BigInt(r.seen[Math.min(i, r.seen.length - 1)] ?? 0);
    });
    const out = await session.run({
      logits: new ort.Tensor('float32', logits, [R, width]),
      seen_ids: new ort.Tensor('int64', seen, [R, S]),
      vocab_size: new ort.Tensor('int64', BigInt64Array.from([BigInt(vocab)]), []),
      uniforms: new ort.Tensor(
        'float64',
        Float64Array.from(rows, (r) => r.u),
        [R],
      ),
      temperature: new ort.Tensor(
        'float64',
        Float64Array.from(rows, (r) => r.temperature),
        [R],
      ),
      top_k: new ort.Tensor(
        'int64',
        BigInt64Array.from(rows, (r) => BigInt(r.topK)),
        [R],
      ),
      top_p: new ort.Tensor(
        'float64',
        Float64Array.from(rows, (r) => r.topP),
        [R],
      ),
      repetition_penalty: new ort.Tensor(
        'float64',
        Float64Array.from(rows, (r) => r.repetitionPenalty),
        [R],
      ),
    });
    return Array.from(out.next_token!.data as BigInt64Array, Number);
  }

  /** Batches of rows whose parameters differ, drawn from `params`; the uniforms come from one seeded stream. */
  function batches(opts: {
    seed: number;
    batches: number;
    rows: number;
    width: number;
    vocab: number;
    params: readonly SamplingParams[];
    /** logits rounded to multiples of this (many exact ties) */
    quantum?: number;
  }): Row[][] {
    const rng = new Rng(opts.seed);
    const uniforms = new SeededRandom(opts.seed);
    const out: Row[][] = [];
    for (let n = 0; n < opts.batches; n++) {
      out.push(
        Array.from({ length: opts.rows }, (_, b) => {
          const logits = rng.normals(opts.width, 2.5);
          if (opts.quantum)
            for (let i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i]! / opts.quantum) * opts.quantum;
          // the row's favourite is among the seen ids, so a penalty changes the choice
          const seen = [argmax(logits.subarray(0, opts.vocab))];
          for (let i = 0; i < 12; i++) seen.push(Math.floor(rng.uniform() * opts.vocab));
          const p = opts.params[(n * opts.rows + b) % opts.params.length]!;
          return { ...p, logits, seen, u: uniforms.next() };
        }),
      );
    }
    return out;
  }

  const MIXED: SamplingParams[] = [
    { temperature: 0, topK: 50, topP: 0.8, repetitionPenalty: 1 },
    { temperature: 0.2, topK: 50, topP: 0.8, repetitionPenalty: 1 },
    { temperature: 0.7, topK: 0, topP: 1, repetitionPenalty: 1 },
    { temperature: 1.3, topK: 5, topP: 1, repetitionPenalty: 1.3 },
    { temperature: 1, topK: 0, topP: 0.5, repetitionPenalty: 1 },
    { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.7 },
    { temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 0.8 },
    { temperature: 2, topK: 1, topP: 0.3, repetitionPenalty: 1.1 },
  ];

  async function assertSame(all: Row[][], vocab: number): Promise<number> {
    let sampled = 0;
    for (const rows of all) {
      const want = rows.map((r) => jsChoice(r, vocab));
      assert.deepEqual(await graphChoices(rows, vocab), want);
      sampled += rows.filter((r) => r.temperature > 0).length;
    }
    return sampled;
  }

  test('mixed parameters in one batch: the same ids as the JS processors and sampler', async () => {
    const all = batches({ seed: 11, batches: 40, rows: 4, width: 3000, vocab: 3000, params: MIXED });
    const sampled = await assertSame(all, 3000);
    assert.ok(sampled >= 100, `${sampled} sampled choices`);
    const distinct = new Set(all.flat().map((r) => jsChoice(r, 3000)));
    assert.ok(distinct.size > 50, 'the choices vary, so the comparison means something');
  });

  test('ties at the top-k and top-p cuts (few distinct logit values) follow the JS rules', async () => {
    const params: SamplingParams[] = [
      { temperature: 1, topK: 7, topP: 1, repetitionPenalty: 1 },
      { temperature: 1, topK: 0, topP: 0.3, repetitionPenalty: 1 },
      { temperature: 0.5, topK: 20, topP: 0.6, repetitionPenalty: 1 },
      { temperature: 1, topK: 3, topP: 0.9, repetitionPenalty: 1.5 },
    ];
    const all = batches({ seed: 5, batches: 50, rows: 4, width: 400, vocab: 400, params, quantum: 0.5 });
    // the cut values really are tied: more logits equal the k-th largest than top-k keeps
    const row = all[0]![0]!;
    const sorted = Float32Array.from(row.logits).sort().reverse();
    assert.ok(sorted.filter((v) => v === sorted[6]).length > 1, 'a tie at the 7th largest');
    await assertSame(all, 400);
  });

  test('top-k on every sampling row (the draw walks only the candidates), ties included', async () => {
    const params: SamplingParams[] = [
      { temperature: 0.8, topK: 12, topP: 0.7, repetitionPenalty: 1 },
      { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.2 },
      { temperature: 1.1, topK: 40, topP: 1, repetitionPenalty: 1.4 },
      { temperature: 1, topK: 5, topP: 0.5, repetitionPenalty: 1 },
    ];
    await assertSame(batches({ seed: 21, batches: 30, rows: 4, width: 600, vocab: 600, params }), 600);
    await assertSame(batches({ seed: 22, batches: 30, rows: 4, width: 600, vocab: 600, params, quantum: 0.5 }), 600);
  });

  test(`top-p alone: a nucleus beyond the first ${TOP_P_CANDIDATES} candidates (flat logits) takes the full sort`, async () => {
    const params: SamplingParams[] = [
      { temperature: 1, topK: 0, topP: 0.9, repetitionPenalty: 1 },
      { temperature: 0.5, topK: 0, topP: 0.95, repetitionPenalty: 1.1 },
      { temperature: 0.2, topK: 50, topP: 0.8, repetitionPenalty: 1 },
    ];
    const all = batches({ seed: 31, batches: 6, rows: 3, width: 5000, vocab: 5000, params });
    for (const rows of all) for (const r of rows) for (let i = 0; i < r.logits.length; i++) r.logits[i]! /= 25;
    await assertSame(all, 5000);
  });

  test('padded logits: ids at or beyond the vocabulary are never chosen', async () => {
    const all = batches({ seed: 3, batches: 10, rows: 3, width: 520, vocab: 500, params: MIXED });
    for (const rows of all) for (const r of rows) r.logits.fill(40, 500); // the padding would win everything
    await assertSame(all, 500);
  });

  test('a full-size vocabulary (64,000) with the API defaults', async () => {
    const params: SamplingParams[] = [
      { temperature: 0.2, topK: 50, topP: 0.8, repetitionPenalty: 1 },
      { temperature: 1, topK: 0, topP: 0.9, repetitionPenalty: 1.2 },
    ];
    await assertSame(batches({ seed: 8, batches: 3, rows: 2, width: 64000, vocab: 64000, params }), 64000);
  });

  test('a uniform that rounding leaves above every cumulative sum takes the last id that has any probability', async () => {
    // softmax of these 32 values sums to 1 − 5·2⁻⁵³ in id order, below the largest uniform the PRNG can return
    const logits = Float32Array.from({ length: 40 }, (_, i) => (i < 32 ? (i % 7) / 3 : Number.NEGATIVE_INFINITY));
    const u = 1 - 2 ** -53;
    assert.ok(softmaxOf(logits).reduce((a, p) => a + p, 0) <= u, 'the walk runs past the end');
    const rows: Row[] = [{ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, logits, seen: [], u }];
    assert.deepEqual(await graphChoices(rows, 40), [31]);
    assert.equal(jsChoice(rows[0]!, 40), 31);
  });
});
