/**
 * The load suite's CI variant: the same runner as `npm run load` (bench/load.ts), short — 6 clients, 3 s warm-up and
 * two 4 s halves against the edge's own process — asserting every invariant: no 5xx, every hostile request refused
 * with its expected status and problem code, every 202 stored and queued (at least once), nothing stored for
 * refusals, edge memory not still climbing in the second half (RSS bound widened for halves this short), and, once a
 * worker has drained the queue with a share of the messages duplicated on purpose, every accepted job run once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, invariantFailures, runLoad } from './runner.ts';

test('edge under mixed load: no 5xx, hostile uploads refused correctly, nothing lost, memory levels off', async (t) => {
  const report = await runLoad({
    clients: 6,
    seconds: 8,
    warmupSeconds: 3,
    seed: 7,
    // 4-s halves: a wider RSS bound than the CLI's (see MEMORY_BOUNDS); a leak of a few MB per upload still fails it.
    memoryBounds: { rssMedianRiseMaxBytes: 160 * 1024 * 1024 },
  });
  const failures = invariantFailures(report);
  t.diagnostic(formatReport(report, failures));
  assert.deepEqual(failures, []);
  // Guards against a run too thin to prove anything (e.g. every request failing fast the same way).
  assert.ok(report.audit.acceptedIds >= 20, `only ${report.audit.acceptedIds} uploads accepted`);
  assert.equal(report.hostileCases.tried, report.hostileCases.total, 'every hostile case is sent (in the warm-up)');
  assert.ok(report.halves.half1.samples >= 5 && report.halves.half2.samples >= 5, 'too few memory readings');
  assert.ok(report.run.duplicatedOnPurpose >= 4, 'the drain met duplicated messages');
});
