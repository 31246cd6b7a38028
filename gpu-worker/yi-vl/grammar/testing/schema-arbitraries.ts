// Test fixture: JSON Schemas of the supported subset for property tests (fast-check arbitraries), shared by the
// grammar's own property test (random logits) and the engine's (a random-weight model).
import fc from 'fast-check';

export type Json = unknown;

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

export const schemaArb: fc.Arbitrary<Json> = fc.letrec<{ node: Json }>((tie) => ({
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
export const FIXED_SCHEMAS: Json[] = [
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
