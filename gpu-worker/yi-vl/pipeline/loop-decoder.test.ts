// The in-graph decode loop against the JS step loop on the tiny model: the same tokens for the same seeds, for single
// rows and for a batch whose rows differ in parameters, prompt length and budget, one of them stopping at an EOS id
// inside the loop; runs continue one another (KV length, uniform stream, repetition-penalty ids).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDecoderLoop } from '../../converter/convert.ts';
import ort from '../../onnx/runtime.ts';
import { Rng } from '../checkpoint/rng.ts';
import { applyProcessors, buildLogitsProcessors, type SamplingParams } from '../generation/logits-processors.ts';
import { argmax, MultinomialSampler } from '../generation/sampler.ts';
import { DecoderDriver } from './decoder-driver.ts';
import { KvCache, type KvLayout } from './kv-cache.ts';
import { LoopDecoder } from './loop-decoder.ts';
import { readManifest } from './manifest.ts';
import { freshTinyModel } from './testing/tiny-model.ts';

interface RowSpec {
  /** prompt positions (random embeddings) */
  prompt: number;
  params: SamplingParams;
  seed: number;
}

/** One answer's JS choices: processors (HF order) over the ids seen so far, then argmax or the seeded sampler. */
class JsChooser {
  readonly seen: number[];
  private readonly sampler: MultinomialSampler | null;
  constructor(
    readonly spec: RowSpec,
    private readonly vocab: number,
  ) {
    this.seen = [spec.seed % vocab, (spec.seed * 7919) % vocab];
    this.sampler = spec.params.temperature > 0 ? new MultinomialSampler(spec.seed) : null;
  }
  choose(logits: Float32Array): number {
    const row = logits.slice(0, this.vocab);
    applyProcessors(buildLogitsProcessors(this.spec.params, this.sampler !== null), this.seen, row);
    const id = this.sampler ? this.sampler.choose(row) : argmax(row);
    this.seen.push(id);
    return id;
  }
  /** The uniforms of the next `n` draws (the in-graph loop's input). */
  uniforms(n: number): Float64Array | undefined {
    return this.sampler?.peekUniforms(n);
  }
  /** Takes the ids the in-graph loop chose, each having used one uniform. */
  took(ids: readonly number[]): void {
    for (const id of ids) {
      this.seen.push(id);
      this.sampler?.skip();
    }
  }
}

const GREEDY: SamplingParams = { temperature: 0, topK: 50, topP: 0.8, repetitionPenalty: 1 };
const API_DEFAULTS: SamplingParams = { temperature: 0.2, topK: 50, topP: 0.8, repetitionPenalty: 1 };
const HOT: SamplingParams = { temperature: 1.2, topK: 0, topP: 0.95, repetitionPenalty: 1.3 };
const WIDE: SamplingParams = { temperature: 0.9, topK: 200, topP: 1, repetitionPenalty: 1 };
const GREEDY_PENALTY: SamplingParams = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1.6 };

describe('in-graph decode loop (decoder_loop.onnx) vs the JS step loop', () => {
  let dir: string;
  let loop: LoopDecoder;
  let step: ort.InferenceSession;
  let embed: ort.InferenceSession;
  let driver: DecoderDriver;
  let layout: KvLayout;
  let H: number;
  let V: number;
  const MAX = 64;

  before(async () => {
    const m = await freshTinyModel(12);
    dir = m.modelDir;
    buildDecoderLoop({ checkpoint: m.checkpointDir, out: dir, dtype: 'fp32' });
    const manifest = readManifest(dir);
    ({ hiddenSize: H, vocabSize: V } = manifest.dims.llm);
    const { numLayers, numKvHeads, headDim } = manifest.dims.llm;
    layout = { numLayers, numKvHeads, headDim, fp16: false };
    step = await ort.InferenceSession.create(join(dir, 'decoder.onnx'));
    embed = await ort.InferenceSession.create(join(dir, 'embed_tokens.onnx'));
    driver = new DecoderDriver(step, H, V);
  });
  after(async () => {
    await loop?.release();
    await step?.release();
    await embed?.release();
  });

  const embedOf = async (id: number) => {
    const r = await embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(id)]), [1, 1]) });
    return r.inputs_embeds!.data as Float32Array;
  };

  /** Prefills the row's prompt into a fresh batch-1 cache and chooses its first token in JS. */
  async function prefill(spec: RowSpec): Promise<{ cache: KvCache; chooser: JsChooser; first: number }> {
    const cache = new KvCache(layout, 1, MAX);
    const logits = await driver.run(cache, new Rng(spec.seed).normals(spec.prompt * H, 1), spec.prompt, [0]);
    const chooser = new JsChooser(spec, V);
    return { cache, chooser, first: chooser.choose(logits) };
  }

  /** The JS step loop alone: `n` tokens after the first, stopping at an EOS id (included). */
  async function reference(spec: RowSpec, n: number, eos: readonly number[]): Promise<number[]> {
    const { cache, chooser, first } = await prefill(spec);
    const out: number[] = [];
    let id = first;
    for (let s = 0; s < n && !eos.includes(id); s++) {
      id = chooser.choose(await driver.run(cache, await embedOf(id), 1, [spec.prompt + s]));
      out.push(id);
    }
    return out;
  }

  test('single rows: K tokens per run() equal the JS choices (greedy, seeded sampling, penalty), run after run', async () => {
    loop = await LoopDecoder.open(join(dir, 'decoder_loop.onnx'), V, [-1]);
    for (const [i, params] of [GREEDY, API_DEFAULTS, HOT, GREEDY_PENALTY].entries()) {
      const spec = { prompt: 15 + i, params, seed: 100 + i };
      const want = await reference(spec, 10, []);
      if (params.temperature === 0 && params.repetitionPenalty === 1) {
        assert.ok(new Set(want).size >= 3, `a varied continuation makes the check meaningful: ${want}`);
      }
      const { cache, chooser, first } = await prefill(spec);
      const got: number[] = [];
      let last = first;
      for (const K of [4, 6]) {
        const [ids] = await loop.run(
          cache,
          [
            {
              ...params,
              lastId: last,
              length: spec.prompt + got.length,
              budget: K,
              uniforms: chooser.uniforms(K),
              seen: chooser.seen,
            },
          ],
          K,
        );
        assert.equal(ids!.length, K);
        got.push(...ids!);
        chooser.took(ids!);
        last = ids!.at(-1)!;
      }
      assert.deepEqual(got, want, `row with ${JSON.stringify(params)}`);
    }
  });

  test('a batch of rows with different parameters, lengths and budgets; one stops at an EOS id inside the loop', async () => {
    const specs: RowSpec[] = [
      { prompt: 20, params: GREEDY, seed: 1 },
      { prompt: 13, params: HOT, seed: 2 },
      { prompt: 17, params: API_DEFAULTS, seed: 3 },
      { prompt: 9, params: WIDE, seed: 4 },
    ];
    const free = await Promise.all(specs.map((s) => reference(s, 12, [])));
    // EOS: row 2's fourth token (the rows' references are then cut at their first EOS)
    const eosId = free[2]![3]!;
    const want = free.map((ids) => (ids.includes(eosId) ? ids.slice(0, ids.indexOf(eosId) + 1) : ids));
    assert.ok(
      want.some((ids, b) => b !== 2 && ids.length === 12),
      'another row runs on past the EOS row',
    );
    loop = await LoopDecoder.open(join(dir, 'decoder_loop.onnx'), V, [eosId]);
    const rows = await Promise.all(specs.map(prefill));
    let cache = KvCache.stack(rows.map((r) => r.cache));
    const got: number[][] = specs.map(() => []);
    // run 1: K = 8, row 1 capped at 3 tokens
    const budgets = [8, 3, 8, 8];
    const first = await loop.run(
      cache,
      rows.map((r, b) => ({
        ...specs[b]!.params,
        lastId: r.first,
        length: specs[b]!.prompt,
        budget: budgets[b]!,
        uniforms: r.chooser.uniforms(budgets[b]!),
        seen: r.chooser.seen,
      })),
      8,
    );
    first.forEach((ids, b) => {
      got[b]!.push(...ids);
      rows[b]!.chooser.took(ids);
    });
    assert.equal(first[1]!.length, 3);
    assert.ok(first[2]!.length < 8 && first[2]!.at(-1) === eosId, 'row 2 stopped at the EOS id');
    // run 2: the rows that go on (compacted, as the engine does), K = 4
    const goOn = [0, 1, 3].filter((b) => got[b]!.at(-1) !== eosId);
    cache = cache.select(goOn);
    const second = await loop.run(
      cache,
      goOn.map((b) => ({
        ...specs[b]!.params,
        lastId: got[b]!.at(-1)!,
        length: specs[b]!.prompt + got[b]!.length,
        budget: Math.min(4, 12 - got[b]!.length),
        uniforms: rows[b]!.chooser.uniforms(4),
        seen: rows[b]!.chooser.seen,
      })),
      4,
    );
    second.forEach((ids, i) => {
      got[goOn[i]!]!.push(...ids);
    });
    // each row: its reference up to what its budgets allowed (8 + 4, 3 + 4), or to its EOS
    const allowed = [12, 7, 12, 12];
    got.forEach((ids, b) => {
      assert.deepEqual(ids, want[b]!.slice(0, allowed[b]), `row ${b} (${JSON.stringify(specs[b]!.params)})`);
    });
  });
});
