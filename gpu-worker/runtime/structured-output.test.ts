import assert from 'node:assert/strict';
import { test } from 'node:test';
import { structuredOutputOf } from './structured-output.ts';

const schema = {
  type: 'object',
  properties: { animal: { enum: ['cat', 'dog'] }, count: { type: 'integer', minimum: 0 } },
  required: ['animal'],
  additionalProperties: false,
};
const format = { type: 'json_schema' as const, json_schema: { name: 'pets', schema } };

test('output.json: the parsed answer when it finished, parses and validates; absent otherwise', () => {
  assert.deepEqual(structuredOutputOf(' {"animal": "cat", "count": 2}', 'stop', format), {
    json: { animal: 'cat', count: 2 },
  });
  assert.deepEqual(structuredOutputOf('{"animal": "cat", "count": 2}', 'length', format), {});
  assert.deepEqual(structuredOutputOf('{"animal": "cat"', 'stop', format), {});
  assert.deepEqual(structuredOutputOf('{"animal": "cow"}', 'stop', format), {});
  assert.deepEqual(structuredOutputOf('{"animal": "cat"}', 'canceled', format), {});
  assert.deepEqual(structuredOutputOf('{"a": [1, null]}', 'stop', { type: 'json_object' }), { json: { a: [1, null] } });
  assert.deepEqual(structuredOutputOf('[1]', 'stop', { type: 'json_object' }), {});
  assert.deepEqual(structuredOutputOf('{"a": 1}', 'stop', undefined), {});
  assert.deepEqual(structuredOutputOf('{"a": 1}', 'stop', { type: 'text' }), {});
});
