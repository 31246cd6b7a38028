// The Node versions the project names agree: package.json's engines, the worker image's Node, and the Node 24 that
// .ci/run installs for its second test run (pinned by version and integrity, checked offline here).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '../..');
const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node: string } }>;
};
const dockerfile = readFileSync(join(ROOT, 'infra/docker/Dockerfile'), 'utf8');

test('engines: the maintained LTS lines (≥ 22), the same in the lockfile', () => {
  assert.equal(pkg.engines.node, '>=22');
  assert.equal(lock.packages['']?.engines?.node, pkg.engines.node);
});

test('.ci/run runs the suite again on a pinned Node 24, the worker image’s major version', () => {
  const version = /^NODE24_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(ci);
  const integrity = /^NODE24_INTEGRITY=(sha512-[A-Za-z0-9+/]{86}==)$/m.exec(ci);
  assert.ok(version && integrity, 'pinned version and sha512 integrity');
  const imageMajor = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile)?.[1];
  assert.equal(version[1], imageMajor);
  // the second run comes after the first, with the installed bin first on PATH
  const first = ci.indexOf('\nnpm test');
  const second = ci.indexOf('PATH="$node24_bin:$PATH" npm test');
  assert.ok(first > 0 && second > first);
  assert.match(ci, /install-node\.sh "\$NODE24_VERSION" "\$NODE24_INTEGRITY"/);
});

test('scripts are valid bash', () => {
  for (const f of ['.ci/run', 'scripts/install-node.sh']) execFileSync('bash', ['-n', join(ROOT, f)]);
});
