// The plain-op decoder variant (benchmark baseline) computes the same logits as the fused GQA decoder.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../yi-vl/checkpoint/rng.ts';
import { makeTinyCheckpoint } from '../yi-vl/checkpoint/tiny.ts';
import { convertCheckpoint, type Manifest } from './convert.ts';
import { DecoderRunner, PlainDecoderRunner, relErr } from './testing.ts';

describe("convert with decoderAttention 'plain'", () => {
  let root: string;
  let fusedDir: string;
  let plainDir: string;
  let manifest: Manifest;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-plain-'));
    const ckpt = makeTinyCheckpoint({ out: join(root, 'ckpt'), seed: 4, dtype: 'fp32', shards: 1 });
    fusedDir = join(root, 'fused');
    plainDir = join(root, 'plain');
    manifest = await convertCheckpoint({ checkpoint: ckpt, out: fusedDir, dtype: 'fp32' });
    await convertCheckpoint({ checkpoint: ckpt, out: plainDir, dtype: 'fp32', decoderAttention: 'plain' });
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('manifest says which layout; the plain graph has no contrib ops', () => {
    const m = JSON.parse(readFileSync(join(plainDir, 'manifest.json'), 'utf8')) as Manifest;
    assert.equal(m.graphs.decoder.attention, 'plain');
    assert.equal(manifest.graphs.decoder.attention, 'gqa');
    assert.equal(readFileSync(join(plainDir, 'decoder.onnx')).includes('GroupQueryAttention'), false);
    assert.equal(readFileSync(join(fusedDir, 'decoder.onnx')).includes('GroupQueryAttention'), true);
  });

  test('prefill of 9 positions, a 3-position chunk with past, then 3 single steps: same logits as GQA', async () => {
    const H = manifest.dims.llm.hiddenSize;
    const fused = await DecoderRunner.open(fusedDir, manifest, 32);
    const plain = await PlainDecoderRunner.open(plainDir, manifest);
    const rng = new Rng(9);
    try {
      for (const S of [9, 3, 1, 1, 1]) {
        const x = rng.normals(S * H, 1);
        const a = await plain.step(x);
        const b = await fused.step(x);
        assert.ok(relErr(a, b) < 1e-4, `S=${S}: rel err ${relErr(a, b)}`);
      }
    } finally {
      await fused.close();
      await plain.close();
    }
  });
});
