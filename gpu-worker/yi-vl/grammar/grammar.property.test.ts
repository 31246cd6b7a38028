// Property: whatever the weights, every answer that the grammar lets finish (a stop token accepted) parses and
// validates against its schema — checked by Ajv, not by the grammar engine. Random schemas of the supported subset,
// random logits over the whole 64,000-piece Yi vocabulary at every step (a random-weight model's stand-in),
// sampled from the masked distribution with a seeded RNG, detokenised with the real Yi tokenizer.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { analyzeJsonSchema } from '../../../shared/structured/json-schema-subset.ts';
import { schemaTokenBound } from '../../../shared/structured/response-format.ts';
import { MultinomialSampler, SeededRandom } from '../generation/sampler.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { GrammarCache, type StructuredFormat } from './compiled-grammars.ts';
import { GrammarConstraint } from './matcher.ts';
import { FIXED_SCHEMAS as FIXED, type Json, schemaArb } from './testing/schema-arbitraries.ts';

interface Run {
  finished: boolean;
  text: string;
  tokens: number;
}

/** One answer: random logits each step, masked, sampled; stops at a stop token or after maxTokens. */
async function generate(
  constraint: GrammarConstraint,
  tokenizer: SentencePieceTokenizer,
  seed: number,
  maxTokens: number,
): Promise<Run> {
  const rng = new SeededRandom(seed);
  const sampler = new MultinomialSampler(seed + 1);
  const logits = new Float32Array(constraint.vocabSize);
  const ids: number[] = [];
  for (let step = 0; step < maxTokens; step++) {
    for (let i = 0; i < logits.length; i++) logits[i] = (rng.next() - 0.5) * 8;
    await constraint.fillMask();
    constraint.applyMask(logits);
    const id = sampler.choose(logits);
    if (constraint.accept(id)) return { finished: true, text: tokenizer.decode(ids), tokens: step + 1 };
    ids.push(id);
  }
  return { finished: false, text: tokenizer.decode(ids), tokens: maxTokens };
}

describe('grammar-constrained answers over the Yi vocabulary with random logits', () => {
  let tokenizer: SentencePieceTokenizer;
  let cache: GrammarCache;
  const ajv = new Ajv2020({ strict: false, allErrors: true });

  before(async () => {
    tokenizer = loadYiTokenizer().tokenizer;
    cache = await GrammarCache.create(tokenizer);
  });

  /** Runs `docs` answers for a schema; returns how many stopped. Fails on any stopped answer Ajv rejects. */
  async function check(schema: Json, seed: number, docs: number): Promise<number> {
    const analysis = analyzeJsonSchema(schema);
    assert.ok(analysis.ok, `generated schema should be in the subset: ${JSON.stringify(schema)}`);
    const bound = schemaTokenBound(schema);
    const validate = ajv.compile(schema as object);
    const grammar = await cache.get({ type: 'json_schema', json_schema: { name: 't', schema } } as StructuredFormat);
    const constraint = await GrammarConstraint.create(grammar);
    let stopped = 0;
    try {
      for (let d = 0; d < docs; d++) {
        constraint.reset();
        const run = await generate(constraint, tokenizer, seed * 31 + d, bound ?? 160);
        if (bound !== null)
          assert.ok(run.finished, `a bounded schema must finish within ${bound} tokens: ${JSON.stringify(schema)}`);
        if (!run.finished) continue;
        stopped++;
        let value: unknown;
        assert.doesNotThrow(
          () => {
            value = JSON.parse(run.text);
          },
          `not JSON: ${JSON.stringify(run.text)} for ${JSON.stringify(schema)}`,
        );
        assert.ok(
          validate(value),
          `invalid: ${JSON.stringify(run.text)} for ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}`,
        );
      }
    } finally {
      constraint.dispose();
    }
    return stopped;
  }

  test('every finished answer of a generated schema parses and validates (Ajv)', async () => {
    let stopped = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        schemaArb.filter((s) => analyzeJsonSchema(s).ok),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (schema, seed) => {
          stopped += await check(schema, seed, 3);
          runs += 3;
        },
      ),
      { numRuns: Number(process.env.GRAMMAR_PROPERTY_RUNS ?? 24), seed: 20240607, endOnFailure: true },
    );
    // Generated schemas are bounded, so every answer must have finished.
    assert.equal(stopped, runs);
  });

  test('recursive, nullable and free-form schemas: finished answers validate', async () => {
    let stopped = 0;
    for (const [i, schema] of FIXED.entries()) stopped += await check(schema, 1000 + i, 4);
    assert.ok(stopped >= FIXED.length, `too few answers finished (${stopped}) for the check to mean anything`);
  });

  test('json_object answers are JSON objects', async () => {
    const grammar = await cache.get({ type: 'json_object' });
    const constraint = await GrammarConstraint.create(grammar);
    let stopped = 0;
    for (let d = 0; d < 6; d++) {
      constraint.reset();
      const run = await generate(constraint, tokenizer, 500 + d, 120);
      if (!run.finished) continue;
      stopped++;
      const value = JSON.parse(run.text);
      assert.equal(typeof value, 'object');
      assert.ok(value !== null && !Array.isArray(value));
    }
    constraint.dispose();
    assert.ok(stopped > 0, 'no json_object answer finished');
  });
});
