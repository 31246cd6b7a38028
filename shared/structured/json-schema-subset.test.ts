import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeJsonSchema, SCHEMA_LIMITS, scaledCeil, scaledFloor } from './json-schema-subset.ts';
import { defaultMaxNewTokens, schemaTokenBound } from './response-format.ts';

function problems(schema: unknown): [string, string][] {
  const a = analyzeJsonSchema(schema);
  return a.ok ? [] : a.problems.map((p) => [p.pointer, p.message]);
}
function pointers(schema: unknown): string[] {
  return problems(schema).map(([p]) => p);
}

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 40 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
    email: { type: 'string', pattern: '^[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,6}$' },
    tags: { type: 'array', items: { enum: ['cat', 'dog', 'other'] }, maxItems: 5 },
    pet: { anyOf: [{ $ref: '#/$defs/pet' }, { type: 'null' }] },
  },
  required: ['name', 'age'],
  additionalProperties: false,
  $defs: { pet: { type: 'object', properties: { kind: { const: 'cat' }, indoor: { type: 'boolean' } } } },
};

describe('JSON Schema subset check', () => {
  test('accepts the documented subset', () => {
    assert.deepEqual(problems(PERSON), []);
    assert.deepEqual(problems({ type: ['string', 'null'], maxLength: 3 }), []);
    assert.deepEqual(problems({ type: 'number', exclusiveMinimum: 0, maximum: 1 }), []);
    assert.deepEqual(problems({}), []);
  });

  test('unsupported keywords are reported at their pointer', () => {
    assert.deepEqual(pointers({ type: 'object', properties: { when: { type: 'string', format: 'date' } } }), [
      '/properties/when/format',
    ]);
    assert.deepEqual(pointers({ oneOf: [{ type: 'null' }] }), ['/oneOf']);
    assert.deepEqual(pointers({ type: 'object', properties: { 'a/b~c': { type: 'array', uniqueItems: true } } }), [
      '/properties/a~1b~0c/uniqueItems',
    ]);
    assert.deepEqual(pointers({ type: 'string', pattern: '^(?=a)b$' }), ['/pattern']);
    assert.deepEqual(pointers({ type: 'object', additionalProperties: { type: 'string' } }), ['/additionalProperties']);
  });

  test('unsatisfiable bounds', () => {
    assert.deepEqual(pointers({ type: 'string', minLength: 5, maxLength: 2 }), ['/minLength']);
    assert.deepEqual(pointers({ type: 'integer', minimum: 10, maximum: 1 }), ['/maximum']);
    assert.deepEqual(pointers({ type: 'integer', minimum: 1.2, maximum: 1.8 }), ['/maximum']);
    assert.deepEqual(pointers({ type: 'array', minItems: 3, maxItems: 1 }), ['/minItems']);
    assert.deepEqual(pointers({ properties: { a: { enum: [] } } }), ['/properties/a/enum']);
    assert.deepEqual(pointers({ type: 'string', enum: [1, 2] }), ['/enum']);
    assert.deepEqual(
      pointers({
        type: 'object',
        properties: { a: { type: 'null' } },
        required: ['a', 'b'],
        additionalProperties: false,
      }),
      ['/required/1'],
    );
    assert.deepEqual(pointers({ $ref: '#/$defs/missing' }), ['/$ref']);
    assert.deepEqual(pointers({ type: 'string', pattern: '^é$' }), ['/pattern']);
    // Required recursion never ends; a $ref loop that produces nothing first.
    assert.deepEqual(pointers({ type: 'object', properties: { next: { $ref: '#' } }, required: ['next'] }), ['']);
    assert.deepEqual(pointers({ $defs: { a: { anyOf: [{ $ref: '#/$defs/a' }] } }, $ref: '#/$defs/a' }), ['/$defs/a']);
  });

  test('too large: bytes, depth, properties, enum values, lengths', () => {
    const big = { type: 'string', enum: Array.from({ length: 3000 }, (_, i) => `value number ${i}`) };
    assert.deepEqual(pointers(big), ['']);
    let deep: unknown = { type: 'null' };
    for (let i = 0; i < SCHEMA_LIMITS.maxDepth + 2; i++) deep = { type: 'array', items: deep };
    assert.ok(pointers(deep)[0]!.startsWith('/items/items'));
    const props = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, { type: 'null' }]));
    assert.deepEqual(pointers({ type: 'object', properties: props }), ['/properties']);
    assert.deepEqual(pointers({ enum: Array.from({ length: 300 }, (_, i) => i) }), ['/enum']);
    assert.deepEqual(pointers({ type: 'string', maxLength: 100_000 }), ['/maxLength']);
  });

  test('required names outside properties get any value when additional properties are allowed', () => {
    const a = analyzeJsonSchema({ type: 'object', properties: {}, required: ['x'] });
    assert.ok(a.ok);
    assert.deepEqual(a.schema.root, {
      kind: 'object',
      properties: [{ name: 'x', required: true, node: { kind: 'any' } }],
    });
  });

  test('bounds are scaled exactly (no binary rounding)', () => {
    assert.equal(scaledCeil(0.1, 6), 100000n);
    assert.equal(scaledFloor(0.1, 6), 100000n);
    assert.equal(scaledCeil(1e-7, 6), 1n);
    assert.equal(scaledFloor(-1e-7, 6), -1n);
    assert.equal(scaledFloor(2.5, 0), 2n);
    assert.equal(scaledCeil(-2.5, 0), -2n);
  });

  test('token bound: bounded schemas get one, unbounded ones do not', () => {
    // {"a": "xxxx"}: 2 braces + 3 key + 2 ": " + (2 + 4·4) string bytes, + 1 leading space + 1 stop token.
    assert.equal(
      schemaTokenBound({ type: 'object', properties: { a: { type: 'string', maxLength: 4 } } }),
      2 + 3 + 2 + 18 + 2,
    );
    // A sign plus the longest magnitude's digits: 4 bytes for -5…120.
    assert.equal(schemaTokenBound({ type: 'integer', minimum: -5, maximum: 120 }), 1 + 4 + 1);
    assert.equal(schemaTokenBound({ type: 'string' }), null);
    assert.equal(schemaTokenBound({ type: 'array', items: { type: 'null' } }), null);
    assert.equal(schemaTokenBound(PERSON), null); // the email pattern's + has no bound
  });

  test('max_new_tokens default: the bound for bounded schemas (capped), else the default', () => {
    const bounded = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const format = { type: 'json_schema' as const, json_schema: { name: 'x', schema: bounded } };
    assert.equal(defaultMaxNewTokens(format, 512, 2048), schemaTokenBound(bounded));
    assert.equal(defaultMaxNewTokens({ type: 'json_object' }, 512, 2048), 512);
    const long = { type: 'array', items: { type: 'string', maxLength: 4096 }, maxItems: 10 };
    assert.equal(
      defaultMaxNewTokens({ type: 'json_schema', json_schema: { name: 'x', schema: long } }, 512, 2048),
      2048,
    );
  });
});
