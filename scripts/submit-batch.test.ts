import assert from 'node:assert/strict';
import test from 'node:test';
import { errorLocation } from './api-problem.ts';
import { defaultResultsPath, progressLine, renderProgress } from './submit-batch.ts';

const counts = (
  c: Partial<Record<'queued' | 'running' | 'succeeded' | 'failed' | 'canceled', number>>,
  total: number,
) => ({
  total,
  queued: c.queued ?? 0,
  running: c.running ?? 0,
  succeeded: c.succeeded ?? 0,
  failed: c.failed ?? 0,
  canceled: c.canceled ?? 0,
});

test('the progress bar fills with the ended items and lists ok, failed and running', () => {
  assert.equal(
    renderProgress(counts({ succeeded: 510, failed: 13, running: 4, queued: 473 }, 1000), 10),
    '[#####.....] 523/1000  ok 510  failed 13  running 4',
  );
  assert.equal(renderProgress(counts({ queued: 3 }, 3), 10), '[..........] 0/3  ok 0  failed 0  running 0');
  assert.equal(renderProgress(counts({ succeeded: 3 }, 3), 10), '[##########] 3/3  ok 3  failed 0  running 0');
});

test('the bar never fills before every item has ended, and an empty batch draws an empty bar', () => {
  assert.equal(renderProgress(counts({ succeeded: 999, running: 1 }, 1000), 10).slice(0, 12), '[#########.]');
  assert.equal(renderProgress(counts({}, 0), 4), '[....] 0/0  ok 0  failed 0  running 0');
});

test('canceled items count as ended and are listed only when there are some', () => {
  assert.equal(
    renderProgress(counts({ succeeded: 2, canceled: 6, queued: 2 }, 10), 10),
    '[########..] 8/10  ok 2  failed 0  running 0  canceled 6',
  );
});

test('the progress line names the batch status unless it is running', () => {
  const c = counts({ running: 1, queued: 1 }, 2);
  assert.equal(progressLine({ status: 'running', counts: c }, 4), '[....] 0/2  ok 0  failed 0  running 1');
  assert.equal(
    progressLine({ status: 'canceling', counts: c }, 4),
    '[....] 0/2  ok 0  failed 0  running 1  (canceling)',
  );
});

test('results go beside the requests file unless --out says otherwise', () => {
  assert.equal(defaultResultsPath('data/requests.jsonl'), 'data/requests.jsonl.results.jsonl');
});

test('a batch file error names its line and field', () => {
  assert.equal(errorLocation('requests[12].custom_id'), 'line 12, custom_id');
  assert.equal(errorLocation('requests[3]'), 'line 3');
  assert.equal(errorLocation('requests[7].response_format.json_schema'), 'line 7, response_format.json_schema');
  assert.equal(errorLocation('webhook'), 'webhook');
});
