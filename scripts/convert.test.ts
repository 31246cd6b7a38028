// The CLIs end to end: generate a tiny checkpoint, convert it, and fail with exit codes and messages on bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = mkdtempSync(join(tmpdir(), 'convert-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
const tsx = (script: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join('scripts', script), ...args], { encoding: 'utf8' });

test('make-tiny-checkpoint + convert CLIs: progress on stderr, manifest written, clear failures', () => {
  const ckpt = join(root, 'ckpt');
  const gen = tsx('make-tiny-checkpoint.ts', ['--out', ckpt, '--seed', '2']);
  assert.equal(gen.status, 0, gen.stderr);
  const out = join(root, 'out');
  const ok = tsx('convert.ts', ['--checkpoint', ckpt, '--out', out, '--dtype', 'int4', '--block-size', '64']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /decoder: layer 2\/2/);
  assert.match(ok.stderr, /converted .* \(int4, .* MiB\) in .* s, peak RSS \d+ MiB/);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { int4: { blockSize: number } };
  assert.equal(manifest.int4.blockSize, 64);

  const usage = tsx('convert.ts', ['--checkpoint', ckpt]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--checkpoint and --out are required/);
  assert.equal(tsx('convert.ts', ['--checkpoint', ckpt, '--out', out, '--dtype', 'int8']).status, 2);
  assert.equal(
    tsx('convert.ts', ['--checkpoint', ckpt, '--out', out, '--dtype', 'int4', '--block-size', '24']).status,
    2,
  );

  const cfg = join(ckpt, 'config.json');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('mlp2x_gelu_Norm', 'mlp3x_gelu'));
  const bad = tsx('convert.ts', ['--checkpoint', ckpt, '--out', join(root, 'bad'), '--dtype', 'fp32']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /convert failed: .*unknown mm_projector_type "mlp3x_gelu"/);
  assert.ok(!existsSync(join(root, 'bad', 'decoder.onnx')));
});
