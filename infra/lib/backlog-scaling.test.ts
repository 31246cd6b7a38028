import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { backlogExpression, backlogSteps, capacityFor } from './backlog-scaling.ts';

describe('backlogSteps', () => {
  test('one step per capacity: ceil(backlog / jobsPerWorker), capped at maxWorkers', () => {
    const steps = backlogSteps({ jobsPerWorker: 4, minWorkers: 0, maxWorkers: 3 });
    assert.deepEqual(steps, [
      { lower: 0, upper: 4.5, capacity: 1 },
      { lower: 4.5, upper: 8.5, capacity: 2 },
      { lower: 8.5, upper: undefined, capacity: 3 },
    ]);
    assert.deepEqual(
      [1, 4, 5, 8, 9, 1000].map((b) => capacityFor(steps, b, 0)),
      [1, 1, 2, 2, 3, 3],
    );
    assert.equal(capacityFor(steps, 0, 0), 0);
  });

  test('a warm minimum merges the low steps', () => {
    const steps = backlogSteps({ jobsPerWorker: 1, minWorkers: 2, maxWorkers: 4 });
    assert.deepEqual(
      steps.map((s) => s.capacity),
      [2, 3, 4],
    );
    assert.equal(capacityFor(steps, 1, 2), 2);
  });

  test('property: contiguous, bounded step count, never below the exact capacity', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 10_000 }),
        (per, maxWorkers, minRaw, backlog) => {
          const minWorkers = Math.min(minRaw, maxWorkers);
          const steps = backlogSteps({ jobsPerWorker: per, minWorkers, maxWorkers });
          assert.ok(steps.length <= 20);
          assert.equal(steps[0]!.lower, 0);
          assert.equal(steps.at(-1)!.upper, undefined);
          for (let i = 1; i < steps.length; i++) assert.equal(steps[i]!.lower, steps[i - 1]!.upper);
          const exact = Math.min(maxWorkers, Math.max(minWorkers, Math.ceil(backlog / per)));
          const got = capacityFor(steps, backlog, minWorkers);
          assert.ok(got >= exact && got <= maxWorkers, `backlog ${backlog}: ${got} < ${exact}`);
          if (maxWorkers <= 20) assert.equal(got, exact);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('rejects an impossible plan', () => {
    assert.throws(() => backlogSteps({ jobsPerWorker: 1, minWorkers: 3, maxWorkers: 2 }));
  });
});

describe('backlogExpression', () => {
  test('sums visible and in-flight messages of every queue, each filled with 0 when the queue publishes nothing', () => {
    assert.equal(
      backlogExpression(['jobs', 'batch']),
      'FILL(jobs_visible, 0) + FILL(jobs_inflight, 0) + FILL(batch_visible, 0) + FILL(batch_inflight, 0)',
    );
    assert.throws(() => backlogExpression([]), /at least one queue/);
    assert.throws(() => backlogExpression(['Jobs-1']), /bad queue name/);
  });
});
