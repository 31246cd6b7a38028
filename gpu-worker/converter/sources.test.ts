// Source checkpoints other than bf16-sharded convert correctly (fp16 storage, single file, quick_gelu tower).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';
import { makeTinyCheckpoint, TOWER_DIR } from '../yi-vl/checkpoint/tiny.ts';
import { referenceImageFeatures } from '../yi-vl/reference/vision.ts';
import { convertCheckpoint } from './convert.ts';
import { randomPixels, relErr, runVision } from './testing.ts';

const TOL = 1e-4;

describe('convert fp32: other source layouts', () => {
  let root: string;
  const pixels = randomPixels(21);
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-convert-src-'));
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function featuresMatch(ckptDir: string): Promise<number> {
    const out = join(root, `out-${Math.random().toString(36).slice(2)}`);
    await convertCheckpoint({ checkpoint: ckptDir, out, dtype: 'fp32' });
    const ckpt = openCheckpoint(ckptDir);
    try {
      return relErr(await runVision(out, pixels), referenceImageFeatures(ckpt, pixels));
    } finally {
      ckpt.close();
    }
  }

  test('fp16 single-file source', async () => {
    const dir = makeTinyCheckpoint({ out: join(root, 'f16'), dtype: 'fp16', seed: 4, shards: 1 });
    const err = await featuresMatch(dir);
    assert.ok(err < TOL, `relative error ${err}`);
  });

  test('a quick_gelu vision tower (hidden_act from the vit config)', async () => {
    const dir = makeTinyCheckpoint({ out: join(root, 'qg'), dtype: 'fp32', seed: 6 });
    const cfgPath = join(dir, TOWER_DIR, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, hidden_act: 'quick_gelu' }));
    const err = await featuresMatch(dir);
    assert.ok(err < TOL, `relative error ${err}`);
  });

  test('the original PyTorch .bin layout converts to byte-identical graphs', async () => {
    const st = makeTinyCheckpoint({ out: join(root, 'st'), dtype: 'bf16', seed: 8 });
    const bin = makeTinyCheckpoint({ out: join(root, 'bin'), dtype: 'bf16', seed: 8, format: 'bin' });
    assert.ok(
      existsSync(join(bin, 'pytorch_model-00002-of-00002.bin')) &&
        existsSync(join(bin, 'pytorch_model.bin.index.json')),
    );
    assert.ok(existsSync(join(bin, TOWER_DIR, 'pytorch_model.bin')));
    const a = await convertCheckpoint({ checkpoint: st, out: join(root, 'st-out'), dtype: 'fp32' });
    const b = await convertCheckpoint({ checkpoint: bin, out: join(root, 'bin-out'), dtype: 'fp32' });
    for (const f of [
      'vision.onnx',
      'vision.onnx.data',
      'embed_tokens.onnx.data',
      'decoder.onnx',
      'decoder.onnx.data',
    ]) {
      assert.equal(b.files[f]!.sha256, a.files[f]!.sha256, f);
    }
  });
});
