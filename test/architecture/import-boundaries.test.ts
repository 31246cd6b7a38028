import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkFile, checkTree } from './import-boundaries.ts';

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
