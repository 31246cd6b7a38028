// The pull's progress on a terminal (one bar redrawn in place) and elsewhere (plain lines).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pullProgress } from './progress.ts';
import type { PullEvent } from './pull.ts';

const plan: PullEvent = {
  type: 'plan',
  repo: '01-ai/Yi-VL-6B',
  revision: 'main',
  commit: '6a836ee0123456789abcdef0123456789abcdef0',
  out: '/m/ckpt',
  files: 11,
  totalBytes: 16e9,
  presentBytes: 4e9,
  freeBytes: 80e9,
};

function run(tty: boolean) {
  let clock = 0;
  let text = '';
  const on = pullProgress({ write: (s: string) => (text += s), isTTY: tty }, { now: () => clock, lineEveryMs: 10_000 });
  on(plan);
  for (let s = 1; s <= 30; s++) {
    clock = s * 1000;
    on({ type: 'bytes', path: 'pytorch_model-00001-of-00002.bin', delta: 100e6 });
  }
  on({ type: 'file', path: 'pytorch_model-00001-of-00002.bin', size: 9.94e9, resumedFrom: 4e9, fetched: 3e9 });
  on({ type: 'done', fetchedBytes: 3e9, seconds: 30 });
  return text;
}

describe('pull progress', () => {
  test('plain lines: the plan, a status line every 10 s with bytes, rate and ETA, each file, the total', () => {
    const lines = run(false).trimEnd().split('\n');
    assert.deepEqual(lines, [
      'pulling 01-ai/Yi-VL-6B (main → 6a836ee01234) into /m/ckpt: 11 files, 16.0 GB, 12.0 GB to download (80.0 GB free)',
      '   31%  5.00 GB / 16.0 GB  100 MB/s  ETA 1m50s',
      '   37%  6.00 GB / 16.0 GB  100 MB/s  ETA 1m40s',
      '   43%  7.00 GB / 16.0 GB  100 MB/s  ETA 1m30s',
      '  ✓ pytorch_model-00001-of-00002.bin (9.94 GB, resumed at 4.00 GB, checksum ok)',
      'pulled 3.00 GB in 30s (100 MB/s)',
    ]);
  });

  test('a terminal gets one bar redrawn in place, cleared before each file line', () => {
    const text = run(true);
    const redraw = '\r\x1b[2K';
    assert.ok(
      text.includes(`${redraw}   31% ${'█'.repeat(7)}${'░'.repeat(17)}  5.00 GB / 16.0 GB  100 MB/s  ETA 1m50s`),
    );
    assert.ok(text.includes(`${redraw}  ✓ pytorch_model-00001-of-00002.bin`));
    assert.ok(text.endsWith('\r\x1b[2Kpulled 3.00 GB in 30s (100 MB/s)\n'));
    assert.ok(text.split('\n').length <= 4, 'redraws stay on one line');
  });
});
