// Structured answers through the real engine (tiny random-weight model, CPU EP): for generated schemas of the
// supported subset, every answer that ends with `stop` parses and validates against its schema — checked by Ajv,
// not by the grammar under test; `length` answers get no output.json; constrained and free rows share a batch and
// the free rows make exactly the choices they make alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { analyzeJsonSchema } from '../../../shared/structured/json-schema-subset.ts';
import { type ResponseFormat, schemaTokenBound } from '../../../shared/structured/response-format.ts';
import { InputInvalidError } from '../../analyzer-errors.ts';
import { structuredOutputOf } from '../../runtime/structured-output.ts';
import { type Json, schemaArb } from '../grammar/testing/schema-arbitraries.ts';
import { type EngineInput, type EngineResult, YiVlEngine } from './engine.ts';
import { testImageRgb, tinyModel } from './testing/tiny-model.ts';

let engine: YiVlEngine;
const ajv = new Ajv2020({ strict: false, allErrors: true });
/** the longest answer a test lets a row make (keeps the run short on a busy machine) */
const MAX_TOKENS = 120;

before(async () => {
  engine = await YiVlEngine.load((await tinyModel()).modelDir, { device: 'cpu', intraOpNumThreads: 1 });
});
after(async () => {
  await engine?.close();
});

const schemaFormat = (schema: Json): ResponseFormat => ({
  type: 'json_schema',
  json_schema: { name: 'test', schema: schema as Record<string, unknown> },
});

function value(r: PromiseSettledResult<EngineResult> | undefined): EngineResult {
  if (r?.status !== 'fulfilled') throw (r as PromiseRejectedResult | undefined)?.reason ?? new Error('no result');
  return r.value;
}

/** Checks one constrained answer as the worker would shape it; returns whether it ended with `stop`. */
function checkAnswer(r: EngineResult, format: ResponseFormat, schema: Json | null): boolean {
  const { json } = structuredOutputOf(r.text, r.finish_reason, format);
  if (r.finish_reason !== 'stop') {
    assert.equal(json, undefined, 'a cut answer has no output.json');
    return false;
  }
  let parsed: unknown;
  assert.doesNotThrow(
    () => {
      parsed = JSON.parse(r.text);
    },
    `not JSON: ${JSON.stringify(r.text)} for ${JSON.stringify(schema)}`,
  );
  if (schema !== null) {
    const validate = ajv.compile(schema as object);
    assert.ok(
      validate(parsed),
      `invalid: ${JSON.stringify(r.text)} for ${JSON.stringify(schema)}: ${ajv.errorsText(validate.errors)}`,
    );
  } else assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), 'not an object');
  assert.deepEqual(json, parsed, 'output.json is the parsed text');
  return true;
}

const question = (i: number, responseFormat?: ResponseFormat, maxNewTokens = MAX_TOKENS): EngineInput => ({
  rgb: testImageRgb(1 + (i % 3)),
  question: ['What is in the image?', 'Answer as JSON.', 'Describe it.'][i % 3]!,
  params:
    i % 3 === 0
      ? { temperature: 0, maxNewTokens }
      : { temperature: 0.9, topK: i % 2 ? 40 : 0, topP: 0.95, repetitionPenalty: 1.1, seed: 100 + i, maxNewTokens },
  ...(responseFormat ? { responseFormat } : {}),
});

describe('structured answers through the engine (tiny random-weight model)', () => {
  test('a worker that has only answered free text has not made the grammar cache', async () => {
    await engine.analyze(question(0, { type: 'text' }, 4));
    assert.equal(engine.grammars.started, false);
  });

  test('generated schemas: every stop answer parses and validates (Ajv); a bounded schema always finishes', async (t) => {
    let stopped = 0;
    let answers = 0;
    await fc.assert(
      fc.asyncProperty(
        schemaArb.filter((s) => analyzeJsonSchema(s).ok),
        fc.nat(1000),
        async (schema, salt) => {
          const bound = schemaTokenBound(schema);
          const max = Math.min(bound ?? MAX_TOKENS, MAX_TOKENS);
          const format = schemaFormat(schema);
          const results = await engine.analyzeBatch([0, 1, 2].map((i) => ({ input: question(i + salt, format, max) })));
          for (const r of results) {
            const v = value(r);
            const done = checkAnswer(v, format, schema);
            if (bound !== null && bound <= max)
              assert.ok(done, `a bounded schema must finish within ${bound} tokens: ${JSON.stringify(schema)}`);
            answers++;
            if (done) stopped++;
          }
        },
      ),
      { numRuns: Number(process.env.STRUCTURED_ENGINE_RUNS ?? 12), seed: 20240611, endOnFailure: true },
    );
    t.diagnostic(`${stopped} of ${answers} answers ended with stop`);
    assert.ok(stopped >= answers / 2, `too few answers finished (${stopped} of ${answers}) to mean anything`);
    assert.equal(engine.grammars.started, true);
  });

  test('json_object: an answer is an object from its first token; a finished one parses as one', async (t) => {
    // Free-form keys rarely close under random weights (one '"' among ~64,000 allowed pieces), so most end with
    // length here; the grammar module's own property test finishes many.
    const format: ResponseFormat = { type: 'json_object' };
    const results = await engine.analyzeBatch([0, 1, 2, 4].map((i) => ({ input: question(i, format, 40) })));
    let stopped = 0;
    for (const r of results) {
      assert.match(value(r).text, /^\{/);
      if (checkAnswer(value(r), format, null)) stopped++;
    }
    t.diagnostic(`${stopped} of ${results.length} answers ended with stop`);
  });

  test('max_new_tokens before the document is complete: length, and no output.json', async () => {
    const schema = { type: 'object', properties: { caption: { type: 'string', minLength: 10, maxLength: 40 } } };
    const format = schemaFormat({ ...schema, required: ['caption'] });
    const r = await engine.analyze(question(1, format, 4));
    assert.equal(r.finish_reason, 'length');
    assert.equal(r.completion_tokens, 4);
    assert.equal(checkAnswer(r, format, schema), false);
  });

  test('a batch mixing constrained and free rows: free rows get exactly their tokens alone, constrained rows valid documents', async () => {
    const schema = {
      type: 'object',
      properties: { animal: { enum: ['cat', 'dog', 'other'] }, count: { type: 'integer', minimum: 0, maximum: 20 } },
      required: ['animal', 'count'],
      additionalProperties: false,
    };
    const format = schemaFormat(schema);
    const free = [question(0, undefined, 14), question(1, undefined, 10), question(2, undefined, 12)];
    const alone: EngineResult[] = [];
    for (const input of free) alone.push(await engine.analyze(input));
    const constrained = [question(3, format), question(4, format), question(5, { type: 'json_object' }, 40)];
    const mixed = await engine.analyzeBatch(
      [free[0]!, constrained[0]!, free[1]!, constrained[1]!, free[2]!, constrained[2]!].map((input) => ({ input })),
    );
    [0, 2, 4].forEach((at, i) => {
      const v = value(mixed[at]);
      assert.deepEqual(v.output_token_ids, alone[i]!.output_token_ids, `free row ${i}`);
      assert.equal(v.text, alone[i]!.text);
      assert.equal(v.finish_reason, alone[i]!.finish_reason);
    });
    assert.equal(checkAnswer(value(mixed[1]), format, schema), true);
    assert.equal(checkAnswer(value(mixed[3]), format, schema), true);
    checkAnswer(value(mixed[5]), { type: 'json_object' }, null);
    assert.ok(value(mixed[1]).batch_size > 1);
  });

  test('a schema outside the subset is refused for its row alone (InputInvalidError); the rest of the batch answers', async () => {
    const bad = schemaFormat({ type: 'string', format: 'email' });
    const [refused, fine] = await engine.analyzeBatch([
      { input: question(0, bad) },
      { input: question(0, undefined, 3) },
    ]);
    assert.equal(refused?.status, 'rejected');
    const reason = (refused as PromiseRejectedResult).reason;
    assert.ok(reason instanceof InputInvalidError, String(reason));
    assert.match(reason.message, /response_format\.json_schema\.schema\/format/);
    assert.equal(value(fine).completion_tokens, 3);
  });
});
