import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageFeatureCache } from './image-feature-cache.ts';

test('LRU: least recently used entry is evicted; capacity 0 stores nothing', () => {
  const c = new ImageFeatureCache(2);
  const f = (v: number) => Float32Array.of(v);
  c.set('a', f(1));
  c.set('b', f(2));
  assert.deepEqual(c.get('a'), f(1)); // a is now the most recent
  c.set('c', f(3));
  assert.equal(c.get('b'), undefined);
  assert.deepEqual(c.get('a'), f(1));
  assert.deepEqual(c.get('c'), f(3));
  const none = new ImageFeatureCache(0);
  none.set('a', f(1));
  assert.equal(none.size, 0);
  assert.notEqual(ImageFeatureCache.key(Uint8Array.of(1)), ImageFeatureCache.key(Uint8Array.of(2)));
});
