import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { statfsFreeBytes } from './disk-space.ts';
import { convertedDirName, parseModelSource, preparedRoot } from './model-source.ts';
import { formatBytes, formatDuration } from './units.ts';

const root = mkdtempSync(join(tmpdir(), 'model-source-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('MODEL= values', () => {
  test('a Hub repository id, unless a folder of that name exists', () => {
    assert.deepEqual(parseModelSource('01-ai/Yi-VL-6B', root), { kind: 'hub', repo: '01-ai/Yi-VL-6B' });
    mkdirSync(join(root, '01-ai', 'Yi-VL-6B'), { recursive: true });
    writeFileSync(join(root, '01-ai', 'Yi-VL-6B', 'config.json'), '{}');
    assert.deepEqual(parseModelSource('01-ai/Yi-VL-6B', root), {
      kind: 'checkpoint',
      dir: join(root, '01-ai', 'Yi-VL-6B'),
    });
  });

  test('folders: converted model, prepared folder, checkpoint; anything else is refused', () => {
    mkdirSync(join(root, 'conv'));
    writeFileSync(join(root, 'conv', 'manifest.json'), '{}');
    mkdirSync(join(root, 'prep', 'checkpoint'), { recursive: true });
    writeFileSync(join(root, 'prep', 'checkpoint', 'config.json'), '{}');
    assert.deepEqual(parseModelSource('./conv', root), { kind: 'converted', dir: join(root, 'conv') });
    assert.deepEqual(parseModelSource(join(root, 'prep')), { kind: 'prepared', root: join(root, 'prep') });
    assert.throws(() => parseModelSource('./missing', root), /no such folder/);
    assert.throws(() => parseModelSource('Yi-VL-6B', root), /neither a Hub repository \(owner\/name/);
    assert.throws(() => parseModelSource('a/b/c', root), /neither a Hub repository/);
    mkdirSync(join(root, 'empty'));
    assert.throws(() => parseModelSource('./empty', root), /not a converted model/);
  });

  test('where prepared models live', () => {
    assert.equal(preparedRoot({ kind: 'hub', repo: '01-ai/Yi-VL-34B' }, '/m'), '/m/01-ai--Yi-VL-34B');
    assert.match(preparedRoot({ kind: 'checkpoint', dir: '/x/Yi-VL-6B' }, '/m'), /^\/m\/local--Yi-VL-6B-[0-9a-f]{8}$/);
    assert.equal(convertedDirName('fp16'), 'onnx-fp16');
    assert.equal(convertedDirName('int4', 'float16'), 'onnx-int4-fp16');
  });
});

describe('pull helpers', () => {
  test('free space comes from statfs, on the nearest existing parent of a folder not made yet', async () => {
    const free = await statfsFreeBytes(join(root, 'not', 'yet', 'there'));
    assert.ok(Number.isFinite(free) && free > 0);
  });

  test('sizes and durations', () => {
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(15_960_000_000), '16.0 GB');
    assert.equal(formatBytes(9_940_000_000), '9.94 GB');
    assert.equal(formatDuration(103), '1m43s');
    assert.equal(formatDuration(7500), '2h05m');
    assert.equal(formatDuration(Number.NaN), '--');
  });
});
