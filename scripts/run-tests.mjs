#!/usr/bin/env node
// Runs every *.test.ts under the project folders with Node's own test runner (through tsx).
// Node 20's `--test` has no glob support, so the files are listed here.
// TEST_FILTER=<substring> narrows the set; TEST_FAST=1 skips suites marked slow by their file name (*.slow.test.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const roots = ['shared', 'edge', 'gpu-worker', 'infra', 'test', 'scripts', 'bench'];
const skip = new Set(['node_modules', '.local', 'dist', 'cdk.out', '.wrangler', 'test-artifacts']);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(process.cwd(), p));
  }
}
for (const r of roots) {
  try {
    walk(r);
  } catch {}
}
const filter = process.env.TEST_FILTER;
const selected = files
  .filter((f) => !filter || f.includes(filter))
  .filter((f) => !(process.env.TEST_FAST && f.endsWith('.slow.test.ts')))
  .sort();
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...process.argv.slice(2), ...selected];
const res = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(res.status ?? 1);
