/**
 * The load suite's judge, on its own: a report that held passes, and each kind of breakage the suite exists to
 * catch (a 5xx, a silent connection drop, a wrong refusal, a lost job, a job not run exactly once, a leftover of a
 * refusal, memory still climbing, an edge warning) is named, while a job with two queue messages that ran once is
 * not a failure. Keeps the slow end-to-end run from passing vacuously.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, invariantFailures, type LoadReport, MEMORY_BOUNDS } from './runner.ts';

const MIB = 1024 * 1024;
const mem = (rss: number) => ({ rssBytes: rss * MIB, heapUsedBytes: 24 * MIB });

function heldReport(): LoadReport {
  const p = { count: 10, p50: 100, p99: 300, max: 400 };
  return {
    options: { clients: 4, seconds: 10, warmupSeconds: 1 },
    edgeEnv: {},
    mixShares: { hostile: 0.15, large: 0.1 },
    warmupTookSeconds: 1,
    measuredSeconds: 10,
    requests: 120,
    accepted: 100,
    acceptedPerSecond: 10,
    requestsPerSecond: 12,
    latency: { accepted: p, rejected: p },
    byStatus: { '202': 110, '422': 15, '401': 5 },
    problemCodes: { image_corrupt: 15, unauthorized: 5 },
    hostileSent: 20,
    hostileAsExpected: 20,
    hostileCases: { tried: 12, total: 12 },
    unexpected: {},
    memory: { before: mem(120), afterWarmup: mem(400), mid: mem(450), end: mem(430) },
    halves: {
      half1: { rssMedian: 420 * MIB, rssFloor: 380 * MIB, rssPeak: 500 * MIB, heapFloor: 23 * MIB, samples: 25 },
      half2: { rssMedian: 430 * MIB, rssFloor: 385 * MIB, rssPeak: 505 * MIB, heapFloor: 24 * MIB, samples: 25 },
    },
    idle: mem(430),
    edgeWarnings: {},
    idempotency: { keys: 3, jobs: 3, accepted: 9, replayed: 6, inProgress: 1, splitKeys: [] },
    audit: {
      acceptedIds: 110,
      jobRecords: 110,
      recordsQueued: 110,
      modelInputs: 110,
      queueDepth: 110,
      queueMessages: 110,
      duplicateMessages: 0,
      strayMessages: 0,
      missingRecords: [],
      missingInputs: [],
      missingMessages: [],
      queuedEvents: 110,
      missingEvents: [],
      strayRecords: [],
      strayInputs: [],
    },
    run: {
      duplicatedOnPurpose: 22,
      drainSeconds: 5,
      modelRuns: 110,
      ranOnce: 110,
      leftOnQueue: 0,
      notSucceeded: [],
      startedTwice: [],
      terminalEventsOff: [],
      usageOff: [],
      workerWarnings: {},
    },
  };
}

test('a run that held has no failures and says so', () => {
  const r = heldReport();
  assert.deepEqual(invariantFailures(r), []);
  assert.match(formatReport(r, []), /\| invariants \| all held \|/);
});

test('a job with two queue messages is no failure when it ran once', () => {
  const r = heldReport();
  r.audit.queueMessages = 111;
  r.audit.queueDepth = 111;
  r.audit.duplicateMessages = 1;
  assert.deepEqual(invariantFailures(r), []);
  assert.match(
    formatReport(r, []),
    /\| queue messages \(= queue depth\), jobs with more than one \| 111 \(111\), 1 \|/,
  );
});

test('an over-cap upload whose socket closed while it was still being sent counts as refused, not unanswered', () => {
  const r = heldReport();
  r.byStatus['413 unread (socket closed while sending)'] = 1;
  assert.deepEqual(invariantFailures(r), []);
});

const breakages: [string, (r: LoadReport) => void, RegExp][] = [
  [
    'a 5xx',
    (r) => {
      r.byStatus['500'] = 1;
    },
    /5xx answers: 1× 500/,
  ],
  [
    'a 503',
    (r) => {
      r.byStatus['503'] = 2;
    },
    /5xx answers: 2× 503/,
  ],
  [
    'a dropped connection',
    (r) => {
      r.byStatus['no answer'] = 1;
    },
    /got no HTTP answer/,
  ],
  [
    'a wrong refusal',
    (r) => {
      r.unexpected['hostile: SVG: got 422 image_corrupt'] = 1;
    },
    /answered wrongly/,
  ],
  ['a job without record', (r) => r.audit.missingRecords.push('job_x'), /have no record/],
  [
    'a job not queued',
    (r) => {
      r.audit.recordsQueued = 109;
    },
    /not 'queued'/,
  ],
  ['a job without input', (r) => r.audit.missingInputs.push('job_x'), /no model input/],
  ['a job without message', (r) => r.audit.missingMessages.push('job_x'), /no queue message/],
  [
    'a message for no accepted job',
    (r) => {
      r.audit.strayMessages = 1;
    },
    /1 queue messages name no accepted job/,
  ],
  [
    'a queue depth mismatch',
    (r) => {
      r.audit.queueDepth = 111;
    },
    /queue depth 111 ≠ 110 messages read/,
  ],
  [
    'a queue the worker could not drain',
    (r) => {
      r.run.leftOnQueue = 3;
    },
    /3 messages still queued after the worker drained/,
  ],
  [
    'a job that did not succeed',
    (r) => {
      r.run.notSucceeded.push('job_x: failed');
    },
    /did not succeed: 1 \(job_x: failed\)/,
  ],
  [
    'a job started twice',
    (r) => {
      r.run.startedTwice.push('job_x (attempts 2, 2 job.started events)');
    },
    /started more than once: 1 \(job_x/,
  ],
  [
    'a model run too many',
    (r) => {
      r.run.modelRuns = 111;
    },
    /the model ran 111 times for 110 jobs/,
  ],
  [
    'two terminal events',
    (r) => {
      r.run.terminalEventsOff.push('job_x (2)');
    },
    /without exactly one terminal event: 1 \(job_x \(2\)\)/,
  ],
  [
    'two usage records',
    (r) => {
      r.run.usageOff.push('job_x (2)');
    },
    /without exactly one usage record: 1 \(job_x \(2\)\)/,
  ],
  ['a record of a refusal', (r) => r.audit.strayRecords.push('job_y'), /belong to no accepted request/],
  ['an input of a refusal', (r) => r.audit.strayInputs.push('job_y'), /model inputs belong to no accepted/],
  [
    'RSS still climbing',
    (r) => {
      r.halves.half2.rssMedian = r.halves.half1.rssMedian + MEMORY_BOUNDS.rssMedianRiseMaxBytes + MIB;
    },
    /RSS median rose/,
  ],
  [
    'a missing RSS reading',
    (r) => {
      r.halves.half2.rssMedian = Number.NaN;
    },
    /RSS median rose/,
  ],
  [
    'heap floor climbing',
    (r) => {
      r.halves.half2.heapFloor = r.halves.half1.heapFloor + MEMORY_BOUNDS.heapFloorRiseMaxBytes + MIB;
    },
    /heap floor rose/,
  ],
  [
    'an edge error log',
    (r) => {
      r.edgeWarnings['error: unhandled error'] = 1;
    },
    /1× error: unhandled error/,
  ],
  ['a job without its job.queued event', (r) => r.audit.missingEvents.push('job_x'), /no job.queued event/],
  [
    'an Idempotency-Key answered with two jobs',
    (r) => r.idempotency.splitKeys.push('load-key-1'),
    /Idempotency-Keys answered with more than one job: load-key-1/,
  ],
  [
    'a bound widened for a short run',
    (r) => {
      r.options.memoryBounds = { rssMedianRiseMaxBytes: 1 };
    },
    /RSS median rose 10\.0 MiB from half 1 to half 2 \(bound 0\.0 MiB\)/,
  ],
  [
    'nothing accepted',
    (r) => {
      r.accepted = 0;
    },
    /no upload was accepted/,
  ],
];

for (const [what, breakIt, message] of breakages) {
  test(`names ${what}`, () => {
    const r = heldReport();
    breakIt(r);
    const failures = invariantFailures(r);
    assert.equal(failures.length, 1, failures.join('\n'));
    assert.match(failures[0]!, message);
    assert.match(formatReport(r, failures), /\*\*BROKEN\*\*/);
  });
}
