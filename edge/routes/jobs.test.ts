import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preferredWait } from '../http/prefer-wait.ts';

test('Prefer: wait=N is found among other preferences and capped at 60 s', () => {
  assert.equal(preferredWait(undefined), null);
  assert.equal(preferredWait('respond-async'), null);
  assert.equal(preferredWait('wait=5'), 5);
  assert.equal(preferredWait('respond-async, wait=12'), 12);
  assert.equal(preferredWait('handling=lenient; wait="7"'), 7);
  assert.equal(preferredWait('wait=3600'), 60);
  assert.equal(preferredWait('wait=-1'), null);
  assert.equal(preferredWait('nowait=5'), null);
});
