import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import {
  checkFile,
  checkTree,
  cyclesOf,
  folderCycles,
  importGraph,
  importsBetween,
  isTestCode,
  readSources,
} from './import-boundaries.ts';

const root = resolve(import.meta.dirname, '../..');

test('the repository respects the import boundaries', () => {
  const violations = checkTree(root);
  assert.deepEqual(violations, [], violations.map((v) => `${v.file} imports ${v.specifier} (${v.target})`).join('\n'));
});

test('the check catches edge → gpu-worker, gpu-worker → edge and shared → either', () => {
  const cases: [string, string][] = [
    ['edge/app.ts', "import { x } from '../gpu-worker/consumer.ts';"],
    ['edge/adapter/node/handler.ts', "const m = await import('../../../gpu-worker/index.ts');"],
    ['gpu-worker/consumer.ts', "export { y } from '../edge/app.ts';"],
    ['shared/index.ts', "import '../edge/side-effect.ts';"],
    ['shared/x.ts', "const t = require('../test/support/local-aws.ts');"],
    ['edge/image/x.test.ts', "import { y } from '../../gpu-worker/analyzer.ts';"],
  ];
  for (const [file, source] of cases) {
    const v = checkFile(root, join(root, file), source);
    assert.equal(v.length, 1, `${file}: ${source}`);
  }
});

test('allowed imports pass: shared from either side, packages, siblings, test helpers in tests', () => {
  const ok = [
    ['edge/app.ts', "import { keys } from '../shared/storage/keys.ts';\nimport { Hono } from 'hono';"],
    [
      'gpu-worker/a/b.ts',
      "import { z } from 'zod';\nimport { c } from './c.ts';\nimport type { J } from '../../shared/index.ts';",
    ],
    ['edge/image/x.test.ts', "import { corpus } from '../../test/edge-image/corpus.ts';"],
  ];
  for (const [file, source] of ok) assert.deepEqual(checkFile(root, join(root, file!), source!), []);
});

test('the model folders of gpu-worker are layered: onnx/ ← converter/, yi-vl/; converter/ → yi-vl/checkpoint only', () => {
  const cases: [string, string][] = [
    ['gpu-worker/yi-vl/pipeline/embedding-table.ts', "import { decodeModel } from '../../converter/onnx/proto.ts';"],
    ['gpu-worker/yi-vl/pipeline/x.ts', "const { convertCheckpoint } = await import('../../converter/convert.ts');"],
    ['gpu-worker/yi-vl/x.ts', "export type { Manifest } from '../converter/convert.ts';"],
    ['gpu-worker/converter/builder/base.ts', "import { Sampler } from '../../yi-vl/generation/sampler.ts';"],
    ['gpu-worker/converter/convert.ts', "import { logger } from '../ops/logger.ts';"],
    ['gpu-worker/onnx/graph.ts', "import { f32ToF16 } from '../yi-vl/checkpoint/dtypes.ts';"],
  ];
  for (const [file, source] of cases) {
    const v = checkFile(root, join(root, file), source);
    assert.equal(v.length, 1, `${file}: ${source}`);
  }
  const ok: [string, string][] = [
    ['gpu-worker/converter/convert.ts', "import { openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';"],
    [
      'gpu-worker/converter/builder/base.ts',
      "import { Graph } from '../../onnx/graph.ts';\nimport { q } from '../int4.ts';",
    ],
    ['gpu-worker/yi-vl/pipeline/kv-downloader.ts', "import { Graph } from '../../onnx/graph.ts';"],
    ['gpu-worker/onnx/graph.ts', "import { encodeModel } from './proto.ts';\nimport protobuf from 'protobufjs';"],
    // test code may reach across: pipeline tests convert their fixtures with the converter
    [
      'gpu-worker/yi-vl/pipeline/loop-decoder.test.ts',
      "import { buildDecoderLoop } from '../../converter/convert.ts';",
    ],
    [
      'gpu-worker/yi-vl/pipeline/testing/tiny-model.ts',
      "import { convertCheckpoint } from '../../../converter/convert.ts';",
    ],
    ['gpu-worker/converter/precision.test.ts', "import { visionForward } from '../yi-vl/reference/vision.ts';"],
  ];
  for (const [file, source] of ok) assert.deepEqual(checkFile(root, join(root, file), source), [], file);
});

test('test code: test files, test/, testing/ fixtures and testing.ts helpers; nothing else', () => {
  for (const p of [
    'gpu-worker/converter/convert.test.ts',
    'test/support/local-aws.ts',
    'gpu-worker/yi-vl/pipeline/testing/tiny-model.ts',
    'gpu-worker/converter/testing.ts',
  ])
    assert.ok(isTestCode(p), p);
  for (const p of ['gpu-worker/converter/convert.ts', 'gpu-worker/yi-vl/pipeline/engine.ts', 'bench/testing-load.ts'])
    assert.ok(!isTestCode(p), p);
});

const graph = importGraph(readSources(root));
const describeCycles = (cycles: string[][]) =>
  cycles.map((c) => `${c.join(' ↔ ')}:\n  ${importsBetween(graph, c).join('\n  ')}`).join('\n');

test('no file-level import cycles in the code that is not test code', () => {
  assert.ok(graph.size > 100, `read ${graph.size} files`);
  const cycles = cyclesOf(graph);
  assert.deepEqual(cycles, [], describeCycles(cycles));
});

test('no import cycles between the sub-folders of any gpu-worker folder', () => {
  const cycles = folderCycles(graph, 'gpu-worker');
  assert.deepEqual(cycles, [], describeCycles(cycles));
});

test('the cycle checks catch a two-file loop, a longer one, and a loop between folders', () => {
  // the layout before onnx/ moved out of converter/ and before kv-cache.ts stopped importing kv-downloader.ts
  const before = importGraph(
    new Map([
      ['gpu-worker/yi-vl/pipeline/kv-cache.ts', "import type { KvDownloader } from './kv-downloader.ts';"],
      [
        'gpu-worker/yi-vl/pipeline/kv-downloader.ts',
        "import { Graph } from '../../converter/onnx/graph.ts';\nimport type { KvLayout } from './kv-cache.ts';",
      ],
      ['gpu-worker/converter/onnx/graph.ts', "import { encodeModel } from './proto.ts';"],
      ['gpu-worker/converter/onnx/proto.ts', "import protobuf from 'protobufjs';"],
      ['gpu-worker/converter/convert.ts', "import { openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';"],
      ['gpu-worker/yi-vl/checkpoint/checkpoint.ts', "import { parse } from './config.ts';"],
      ['gpu-worker/yi-vl/checkpoint/config.ts', ''],
    ]),
  );
  assert.deepEqual(cyclesOf(before), [
    ['gpu-worker/yi-vl/pipeline/kv-cache.ts', 'gpu-worker/yi-vl/pipeline/kv-downloader.ts'],
  ]);
  assert.deepEqual(folderCycles(before, 'gpu-worker'), [['gpu-worker/converter', 'gpu-worker/yi-vl']]);
  assert.deepEqual(importsBetween(before, ['gpu-worker/converter', 'gpu-worker/yi-vl']), [
    'gpu-worker/converter/convert.ts → gpu-worker/yi-vl/checkpoint/checkpoint.ts',
    'gpu-worker/yi-vl/pipeline/kv-downloader.ts → gpu-worker/converter/onnx/graph.ts',
  ]);

  const three = importGraph(
    new Map([
      ['shared/a.ts', "export * from './b.ts';"],
      ['shared/b.ts', "const c = await import('./sub/c.ts');"],
      ['shared/sub/c.ts', "import type { A } from '../a.ts';\nimport { z } from 'zod';"],
      ['shared/d.ts', "import './a.ts';"],
    ]),
  );
  assert.deepEqual(cyclesOf(three), [['shared/a.ts', 'shared/b.ts', 'shared/sub/c.ts']]);
  // a folder with a file on either side of it: shared/sub ↔ a.ts, b.ts
  assert.deepEqual(folderCycles(three, 'shared'), [['shared/a.ts', 'shared/b.ts', 'shared/sub']]);
});
