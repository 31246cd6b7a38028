import assert from 'node:assert/strict';
import { test } from 'node:test';
import { touched } from './checks.ts';
import { renderReport } from './report.ts';
import { CI_OPTIONS, runChaos } from './scenario.ts';

/**
 * Compressed chaos run (the same runner as `npm run chaos`): a worker SIGKILLed mid-job, S3 and SQS each down for a
 * moment, the webhook receiver answering 500, hanging, then 410, all while clients create jobs through the edge.
 */
test('chaos: faults while jobs are in flight lose nothing, duplicate nothing, and never answer 500', async () => {
  const r = await runChaos(CI_OPTIONS);
  const report = renderReport(r);
  console.log(report);
  assert.deepEqual(r.violations, [], report);
  const f = r.findings;
  assert.ok(f.accepted >= 10, `enough jobs to mean something:\n${report}`);
  assert.equal(f.webhooks.expected, f.accepted);
  assert.equal(f.webhooks.received + f.webhooks.exempt410, f.webhooks.expected, report);
  assert.equal(r.faults.length, 6, report);
  for (const phase of ['s3-down', 'sqs-down'])
    assert.ok(
      r.attempts.some((a) => touched(a, phase) && a.status === 503 && a.code === 'dependency_unavailable'),
      `503 during ${phase}:\n${report}`,
    );
  // The receiver's outages reached real deliveries: retried past 500s and hangs, some refused for good with 410.
  for (const answer of ['500', 'hang', '410']) assert.ok((f.webhooks.answers[answer] ?? 0) > 0, `${answer}: ${report}`);
  assert.ok(f.webhooks.deliveries > f.webhooks.uniqueIds, report);
});
