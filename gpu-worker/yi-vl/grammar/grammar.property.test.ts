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

type Json = unknown;

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

const PATTERNS = [
  '^[a-z]{1,4}$',
  '^\\d{2,3}-[A-Z]?$',
  '^(ab|c"d|\\\\){1,2}$',
  '^.{0,3}$',
  '^[^a-z]{1,3}$',
  '^\\w\\s\\S$',
  '^(x|y){2}z?$',
  '[\\t\\n"]{1,2}',
  '^[^a-z]é?.$',
];

const jsonLeaf = fc.oneof(
  fc.string({ maxLength: 4, unit: 'binary' }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
  fc.constant(null),
  fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }),
);

const sortedPair = <T>(arb: fc.Arbitrary<T>) => fc.tuple(arb, arb).map(([a, b]) => (a <= b ? [a, b] : [b, a]));

const leafSchema: fc.Arbitrary<Json> = fc.oneof(
  fc.constant({ type: 'null' }),
  fc.constant({ type: 'boolean' }),
  sortedPair(fc.integer({ min: -5000, max: 5000 })).map(([minimum, maximum]) => ({
    type: 'integer',
    minimum,
    maximum,
  })),
  fc.integer({ min: -50, max: 50 }).map((minimum) => ({ type: 'integer', minimum })),
  sortedPair(fc.double({ min: -100, max: 100, noNaN: true })).map(([minimum, maximum]) => ({
    type: 'number',
    minimum,
    maximum,
  })),
  fc.constant({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4 }))
    .map(([minLength, extra]) => ({ type: 'string', minLength, maxLength: minLength + extra })),
  fc.constantFrom(...PATTERNS).map((pattern) => ({ type: 'string', pattern })),
  fc.array(jsonLeaf, { minLength: 1, maxLength: 4 }).map((values) => ({ enum: values })),
  jsonLeaf.map((value) => ({ const: value })),
);

const schemaArb: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafSchema,
    fc
      .tuple(tie('node'), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))
      .map(([items, minItems, extra]) => ({ type: 'array', items, minItems, maxItems: minItems + extra })),
    fc
      .dictionary(fc.constantFrom('a', 'b c', 'ü', 'x"y', 'n'), tie('node'), { minKeys: 1, maxKeys: 3 })
      .chain((properties) =>
        fc.subarray(Object.keys(properties)).map((required) => ({
          type: 'object',
          properties,
          required,
          additionalProperties: false,
        })),
      ),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => ({ anyOf: [a, b] })),
  ),
})).node;

// Schemas the generator does not reach: recursion through $defs/$ref, nullable unions, free-form values.
const FIXED: Json[] = [
  {
    $defs: {
      node: {
        type: 'object',
        properties: {
          v: { type: 'integer', minimum: 0, maximum: 9 },
          next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] },
        },
        required: ['v', 'next'],
        additionalProperties: false,
      },
    },
    $ref: '#/$defs/node',
  },
  { type: ['string', 'null'], maxLength: 3 },
  { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', maxLength: 2 }, maxItems: 3 } } },
  { type: 'object', properties: { id: { type: 'integer' } }, required: ['id', 'extra'] },
  { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: 2 },
];

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
