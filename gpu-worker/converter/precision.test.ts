// fp16 and int4 conversions vs the float64 reference, with the error bounds stated in docs/model-format.md.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Checkpoint, openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';
import { f16ToF32, f32ToF16 } from '../yi-vl/checkpoint/dtypes.ts';
import { makeTinyCheckpoint } from '../yi-vl/checkpoint/tiny.ts';
import { ReferenceDecoder } from '../yi-vl/reference/decoder.ts';
import { referenceImageFeatures } from '../yi-vl/reference/vision.ts';
import { convertCheckpoint } from './convert.ts';
import { dequantizeInt4, quantizeInt4 } from './int4.ts';
import { argmax, DecoderRunner, randomPixels, relErr, runEmbed, runVision } from './testing.ts';

/** Bounds (max|Δ| / max|ref|) promised in docs/model-format.md. */
export const BOUNDS = {
  fp16: { features: 5e-3, logits: 5e-3 },
  int4: { logits: 0.3, logitsVsDequantizedRef: 1e-4 },
};

const IDS = [100, 2000, 333, 59568, 7, 144, 4000, 8, 9, 10, 11, 12];

describe('fp16 and int4 conversions', () => {
  let root: string;
  let ckptDir: string;
  let ckpt: Checkpoint;
  let ref: ReferenceDecoder;
  const pixels = randomPixels(11);

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-precision-'));
    // fp32 storage so that rounding to fp16/int4 is the only difference from the reference.
    ckptDir = makeTinyCheckpoint({ out: join(root, 'ckpt'), dtype: 'fp32', seed: 5, shards: 1 });
    ckpt = openCheckpoint(ckptDir);
    ref = new ReferenceDecoder(ckpt);
  });
  after(() => {
    ckpt?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function decodeCompare(
    dir: string,
    reference: ReferenceDecoder,
    t: { diagnostic(m: string): void },
    label: string,
  ) {
    const manifest = await convertManifest(dir);
    const runner = await DecoderRunner.open(dir, manifest, 32);
    const refCache = reference.newCache();
    const errs: number[] = [];
    let agree = 0;
    let logits = await runner.step(await runEmbed(dir, IDS));
    let refLogits = reference.forward(reference.embed(IDS), refCache);
    for (let step = 0; step < 4; step++) {
      errs.push(relErr(logits, refLogits));
      const next = argmax(refLogits);
      if (argmax(logits) === next) agree++;
      logits = await runner.step(await runEmbed(dir, [next]));
      refLogits = reference.forward(reference.embed([next]), refCache);
    }
    errs.push(relErr(logits, refLogits));
    await runner.close();
    t.diagnostic(
      `${label}: logits rel err per step ${errs.map((e) => e.toExponential(2)).join(' ')}, argmax agree ${agree}/4`,
    );
    return { maxErr: Math.max(...errs), agree };
  }

  const manifests = new Map<string, Awaited<ReturnType<typeof convertCheckpoint>>>();
  async function convertManifest(dir: string) {
    return manifests.get(dir)!;
  }
  async function convert(
    dtype: 'fp16' | 'int4',
    extra: { blockSize?: number; accuracyLevel?: number; int4Compute?: 'float32' | 'float16' } = {},
  ) {
    const out = join(
      root,
      `out-${dtype}-${extra.blockSize ?? 32}-${extra.accuracyLevel ?? 0}-${extra.int4Compute ?? ''}`,
    );
    manifests.set(out, await convertCheckpoint({ checkpoint: ckptDir, out, dtype, ...extra }));
    return out;
  }

  test(`fp16: features and logits within ${BOUNDS.fp16.features} / ${BOUNDS.fp16.logits} relative`, async (t) => {
    const out = await convert('fp16');
    assert.equal(manifests.get(out)!.graphs.decoder.kvDtype, 'float16');
    const feats = await runVision(out, pixels);
    const fErr = relErr(feats, referenceImageFeatures(ckpt, pixels));
    t.diagnostic(`fp16 features rel err ${fErr.toExponential(2)}`);
    assert.ok(fErr < BOUNDS.fp16.features, `features ${fErr}`);
    const { maxErr, agree } = await decodeCompare(out, ref, t, 'fp16');
    assert.ok(maxErr < BOUNDS.fp16.logits, `logits ${maxErr}`);
    assert.ok(agree >= 3);
  });

  test('int4 (block 32): matches a reference on the dequantized weights; bounded vs the original weights', async (t) => {
    const bs = 32;
    const out = await convert('int4', { blockSize: bs });
    const m = manifests.get(out)!;
    assert.deepEqual(m.int4, { blockSize: bs, accuracyLevel: 0, symmetric: true });
    const quantized = /(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$|^lm_head\.weight$/;
    const deq = new ReferenceDecoder(ckpt, {
      weightTransform: (name, w, shape) => {
        // int4 builds store the embedding table as float16.
        if (name === 'model.embed_tokens.weight') return f16ToF32(f32ToF16(w));
        if (!quantized.test(name)) return w;
        const [N, K] = shape as [number, number];
        return dequantizeInt4(quantizeInt4(w, N, K, bs), N, K, bs);
      },
    });
    const tight = await decodeCompare(out, deq, t, 'int4 vs dequantized reference');
    assert.ok(tight.maxErr < BOUNDS.int4.logitsVsDequantizedRef, `vs dequantized ${tight.maxErr}`);
    const loose = await decodeCompare(out, ref, t, 'int4 vs original reference');
    assert.ok(loose.maxErr < BOUNDS.int4.logits, `vs original ${loose.maxErr}`);
    // The vision tower stays float32 in int4 builds.
    assert.ok(relErr(await runVision(out, pixels), referenceImageFeatures(ckpt, pixels)) < 1e-4);
  });

  test('int4 block size changes the packed layout and accuracy_level 4 stays within the int4 bound', async (t) => {
    const out = await convert('int4', { blockSize: 128, accuracyLevel: 4 });
    const m = manifests.get(out)!;
    assert.equal(m.int4?.blockSize, 128);
    const { maxErr } = await decodeCompare(out, ref, t, 'int4 block 128 acc 4');
    assert.ok(maxErr < BOUNDS.int4.logits, `vs original ${maxErr}`);
  });

  test('int4 with float16 compute (for CUDA) has float16 KV buffers and stays within the int4 bound', async (t) => {
    const out = await convert('int4', { int4Compute: 'float16' });
    const m = manifests.get(out)!;
    assert.equal(m.computeDtype, 'float16');
    assert.equal(m.graphs.decoder.kvDtype, 'float16');
    const { maxErr } = await decodeCompare(out, ref, t, 'int4 fp16 compute');
    assert.ok(maxErr < BOUNDS.int4.logits, `vs original ${maxErr}`);
    const fErr = relErr(await runVision(out, pixels), referenceImageFeatures(ckpt, pixels));
    assert.ok(fErr < BOUNDS.fp16.features, `features ${fErr}`);
  });
});
