import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, fingerprintOf } from './canonical.ts';
import { idempotencyKeyHash, parseIdempotencyKey } from './idempotency.ts';

test('Idempotency-Key: bare tokens and sf-strings name the same key; bad values are refused', () => {
  assert.equal(parseIdempotencyKey(undefined), null);
  assert.equal(parseIdempotencyKey('abc-123'), 'abc-123');
  assert.equal(parseIdempotencyKey('"abc-123"'), 'abc-123');
  assert.equal(parseIdempotencyKey(' "a \\"q\\" b" '), 'a "q" b');
  for (const bad of ['', '""', 'a\tb', 'é', 'x'.repeat(256)])
    assert.throws(() => parseIdempotencyKey(bad), /Idempotency-Key/);
});

test('keys are scoped per API key; fingerprints ignore key order but not values', async () => {
  assert.notEqual(await idempotencyKeyHash('k1', 'x'), await idempotencyKeyHash('k2', 'x'));
  assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
  assert.equal(await fingerprintOf({ a: 1, b: 2 }), await fingerprintOf({ b: 2, a: 1 }));
  assert.notEqual(await fingerprintOf({ a: 1 }), await fingerprintOf({ a: 2 }));
});
