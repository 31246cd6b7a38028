import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configFromContext } from './config.ts';

describe('configFromContext', () => {
  test('defaults scale to zero and expire inputs after 7 days', () => {
    const c = configFromContext(() => undefined);
    assert.equal(c.minWorkers, 0);
    assert.equal(c.inputRetentionDays, 7);
    assert.equal(c.edgeRuntime, 'nodejs22.x');
  });

  test('coerces -c string values', () => {
    const ctx: Record<string, string> = { minWorkers: '1', maxWorkers: '8', modelS3Uri: 's3://models-x/yi/' };
    const c = configFromContext((k) => ctx[k]);
    assert.equal(c.minWorkers, 1);
    assert.equal(c.maxWorkers, 8);
    assert.equal(c.modelS3Uri, 's3://models-x/yi/');
  });

  test('names every bad value', () => {
    const ctx: Record<string, string> = {
      minWorkers: '9',
      maxWorkers: '2',
      logRetentionDays: '31',
      stage: 'Bad_Name',
      modelS3Uri: 'https://models/x',
    };
    assert.throws(
      () => configFromContext((k) => ctx[k]),
      (err: Error) => ['minWorkers', 'logRetentionDays', 'stage', 'modelS3Uri'].every((k) => err.message.includes(k)),
    );
  });
});
