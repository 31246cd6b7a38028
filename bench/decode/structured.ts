// `npm run bench` sections for structured answers: the grammar's per-token cost at the Yi vocabulary (64,000 pieces)
// beside one decoder step of the same model in the same run, and schema compile time, cache miss vs hit; then
// constrained vs unconstrained decode tok/s through the engine (interleaved rounds, same engine, same run).
import { join } from 'node:path';
import ort from '../../gpu-worker/onnx/runtime.ts';
import { SeededRandom } from '../../gpu-worker/yi-vl/generation/sampler.ts';
import { GrammarCache } from '../../gpu-worker/yi-vl/grammar/compiled-grammars.ts';
import { GrammarConstraint, isAllowed } from '../../gpu-worker/yi-vl/grammar/matcher.ts';
import { type EngineInput, YiVlEngine } from '../../gpu-worker/yi-vl/pipeline/engine.ts';
import { readManifest } from '../../gpu-worker/yi-vl/pipeline/manifest.ts';
import { testImageRgb } from '../../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';
import { loadYiTokenizer } from '../../gpu-worker/yi-vl/tokenizer/yi-tokenizer.ts';
import { bareChainTokensPerSecond } from './bare-chain.ts';
import { abMedians, fmt, line, median } from './measure.ts';
import type { BenchContext, Section } from './sections.ts';

/** The example schemas of docs/api.md ("Structured answers"). */
export const EXAMPLE_SCHEMAS: Record<string, Record<string, unknown>> = {
  'animals (enum, bounded integer)': {
    type: 'object',
    properties: {
      animal: { enum: ['cat', 'dog', 'bird', 'other'] },
      count: { type: 'integer', minimum: 0, maximum: 50 },
    },
    required: ['animal', 'count'],
    additionalProperties: false,
  },
  'caption (bounded strings, array)': {
    type: 'object',
    properties: {
      caption: { type: 'string', maxLength: 40 },
      tags: { type: 'array', items: { type: 'string', maxLength: 12 }, maxItems: 5 },
      safe: { type: 'boolean' },
    },
    required: ['caption', 'tags', 'safe'],
    additionalProperties: false,
  },
  'objects ($defs, anyOf, number range, pattern)': {
    type: 'object',
    properties: {
      objects: { type: 'array', items: { $ref: '#/$defs/object' }, maxItems: 8 },
      dominant_colour: { type: 'string', pattern: '^#[0-9a-f]{6}$' },
    },
    required: ['objects'],
    additionalProperties: false,
    $defs: {
      object: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          confidence: { type: 'number', minimum: 0, maximum: 1 },
          box: {
            anyOf: [
              { type: 'array', items: { type: 'integer', minimum: 0, maximum: 447 }, minItems: 4, maxItems: 4 },
              { type: 'null' },
            ],
          },
        },
        required: ['label', 'confidence'],
        additionalProperties: false,
      },
    },
  },
};

async function maskCostPerToken(
  cache: GrammarCache,
  tokens: number,
): Promise<{ fill: number; fillMean: number; fillMax: number; apply: number }> {
  const rng = new SeededRandom(11);
  const logits = new Float32Array(64_000);
  const fills: number[] = [];
  const applies: number[] = [];
  for (const schema of Object.values(EXAMPLE_SCHEMAS)) {
    const constraint = await GrammarConstraint.create(
      await cache.get({ type: 'json_schema', json_schema: { name: 'bench', schema } }),
    );
    for (let n = 0; n < tokens; n++) {
      let t = performance.now();
      const mask = await constraint.fillMask();
      fills.push(performance.now() - t);
      for (let i = 0; i < logits.length; i++) logits[i] = rng.next();
      t = performance.now();
      constraint.applyMask(logits);
      applies.push(performance.now() - t);
      // A random allowed token (what a random-weight model does); restart a finished document.
      let id = Math.floor(rng.next() * logits.length);
      while (!isAllowed(mask, id)) id = (id + 1) % logits.length;
      if (constraint.accept(id)) constraint.reset();
    }
    constraint.dispose();
  }
  const fillMean = fills.reduce((a, b) => a + b, 0) / fills.length;
  return { fill: median(fills), fillMean, fillMax: Math.max(...fills), apply: median(applies) };
}

const structuredOutput: Section = {
  name: 'structured answers: grammar mask per token (vocab 64,000) and schema compile, cache miss vs hit',
  async run(ctx: BenchContext) {
    const out: string[] = [];
    const { tokenizer } = loadYiTokenizer();
    const cache = await GrammarCache.create(tokenizer);
    for (const [name, schema] of Object.entries(EXAMPLE_SCHEMAS)) {
      const format = { type: 'json_schema' as const, json_schema: { name: 'bench', schema } };
      let t = performance.now();
      await cache.get(format);
      const miss = performance.now() - t;
      const hits: number[] = [];
      for (let i = 0; i < 5; i++) {
        t = performance.now();
        await cache.get(format);
        hits.push(performance.now() - t);
      }
      const hit = median(hits);
      out.push(`compile ${name.padEnd(46)} miss=${fmt(miss)}ms  hit=${fmt(hit, 3)}ms  miss/hit=${fmt(miss / hit, 0)}`);
    }
    const mask = await maskCostPerToken(cache, 60);
    const m = readManifest(ctx.modelDir);
    const dec = await ort.InferenceSession.create(join(ctx.modelDir, 'decoder.onnx'), {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: ctx.threads,
      executionProviders: ['cpu'],
    });
    try {
      const tps = await bareChainTokensPerSecond(dec, m, { startLength: 1024 + 100, steps: 16, binding: 'inplace' });
      const stepMs = 1000 / tps;
      const perToken = mask.fillMean + mask.apply;
      out.push(
        `mask per token (fillMask + applyMask)  fill median=${fmt(mask.fill, 3)}ms mean=${fmt(mask.fillMean, 3)}ms ` +
          `max=${fmt(mask.fillMax, 1)}ms  apply=${fmt(mask.apply, 3)}ms  decoder step=${fmt(stepMs, 2)}ms  ` +
          `mask/step=${fmt(perToken / stepMs, 3)}`,
      );
      out.push(
        `  if the mask ran serially after each step: constrained/unconstrained tok/s ≈ ${fmt(stepMs / (stepMs + perToken), 3)}`,
      );
    } finally {
      await dec.release();
    }
    return out;
  },
};

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const DECODE_TOKENS = Number(process.env.BENCH_STRUCTURED_TOKENS ?? 48);

/**
 * Constrained rows write `{"description": "…"}`: inside a free string, where the grammar's masks cost the most
 * (many pieces only partly decided), and where a random-weight model keeps writing, so the constrained answers run
 * to max_new_tokens like the free ones. Each round uses its own seed, the same for both sides.
 */
const constrainedDecode: Section = {
  name: 'structured answers: constrained vs unconstrained decode tok/s through the engine',
  async run(ctx: BenchContext) {
    // both sides on the JS step path, so the ratio is the mask's cost (free rows would otherwise take the in-graph loop)
    const engine = await YiVlEngine.load(ctx.modelDir, {
      device: 'cpu',
      intraOpNumThreads: ctx.threads,
      decode: 'step',
    });
    const schema = {
      type: 'object',
      properties: { description: { type: 'string' } },
      required: ['description'],
      additionalProperties: false,
    };
    let round = 0;
    const input = (structured: boolean): EngineInput => ({
      rgb: testImageRgb(1),
      question: 'Describe the image as JSON.',
      params: { temperature: 0.9, topK: 50, topP: 0.95, seed: 7 + (round >> 1), maxNewTokens: DECODE_TOKENS },
      ...(structured ? { responseFormat: { type: 'json_schema', json_schema: { name: 'description', schema } } } : {}),
    });
    const tokens: { free: number[]; constrained: number[] } = { free: [], constrained: [] };
    const decodeTps = async (structured: boolean) => {
      const r = await engine.analyze(input(structured));
      round++;
      (structured ? tokens.constrained : tokens.free).push(r.completion_tokens);
      return r.timings.tokens_per_second;
    };
    try {
      const { a, b, as, bs } = await abMedians(
        ROUNDS,
        () => decodeTps(true),
        () => decodeTps(false),
      );
      const ratios = as.map((x, i) => x / bs[i]!);
      return [
        line('decode tok/s: constrained vs free', ['constrained', a, ' tok/s'], ['free', b, ' tok/s']),
        `  per-round ratios ${ratios.map((x) => fmt(x, 3)).join(' ')}  (median ${fmt(median(ratios), 3)}); ` +
          `tokens per answer constrained ${median(tokens.constrained)}, free ${median(tokens.free)}; ${ROUNDS} rounds`,
      ];
    } finally {
      await engine.close();
    }
  },
};

export const STRUCTURED_SECTIONS: Section[] = [structuredOutput, constrainedDecode];
