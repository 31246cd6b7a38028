/**
 * Parity: the Workers (WebAssembly) processor against the sharp processor on the same inputs. Both share the PIL
 * geometry; they differ in decoders (mozjpeg vs libjpeg-turbo, libavif vs libheif, …), in sharp's libvips reducer
 * for downscales, and in colour handling, so the bound is statistical: per-channel mean and max absolute difference.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { loadWasmCodecModulesFromNodeModules } from '../../edge/image/node-wasm-modules.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { WasmImageProcessor } from '../../edge/image/wasm-image-processor.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { modelInputFromUpload } from '../../shared/image/deferred-input.ts';
import { preprocessForYiVl } from '../../shared/image/sharp-preprocess.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { buildCorpus, buildLargeCorpus } from './corpus.ts';

const MEAN_BOUND = 0.5;
const MAX_BOUND = 4;

async function rgb(png: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).raw().toBuffer());
}

function diff(a: Uint8Array, b: Uint8Array): { mean: number[]; max: number[] } {
  const sum = [0, 0, 0];
  const max = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum[i % 3]! += d;
    if (d > max[i % 3]!) max[i % 3] = d;
  }
  return { mean: sum.map((s) => s / (a.length / 3)), max };
}

async function photoLike(width: number, height: number): Promise<Uint8Array> {
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 70 } },
  })
    .blur(4)
    .png()
    .toBuffer();
  return new Uint8Array(await sharp(noise).jpeg({ quality: 88 }).toBuffer());
}

describe('sharp ↔ WebAssembly parity', async () => {
  const { valid } = await buildCorpus();
  const large = await buildLargeCorpus();
  const inputs = valid
    .filter((c) => c.wasmTolerance === undefined) // CMYK: colour-managed in sharp only, bounded in the bad-input suite
    .map((c) => ({ name: c.name, bytes: c.bytes }))
    .concat([
      { name: 'photo-like 1600×1200 JPEG', bytes: await photoLike(1600, 1200) },
      { name: 'photo-like 900×1400 JPEG', bytes: await photoLike(900, 1400) },
    ]);
  const sharpProcessor = new SharpImageProcessor();
  const wasmProcessor = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules());

  test('over the isolate budget the WASM path defers to the worker, whose model input is the Node edge’s, exactly', async () => {
    const small = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules(), { maxPixels: 1000 });
    for (const bytes of [inputs[0]!.bytes, large[0]!.bytes]) {
      const [node, deferred] = await Promise.all([
        sharpProcessor.prepare(bytes, DEFAULT_IMAGE_LIMITS),
        small.prepare(bytes, DEFAULT_IMAGE_LIMITS),
      ]);
      assert.ok(node.png && !deferred.png, 'sharp decodes, the WASM path defers');
      assert.equal(deferred.original, bytes);
      assert.deepEqual(
        [deferred.format, deferred.width, deferred.height, deferred.sha256],
        [node.format, node.width, node.height, node.sha256],
      );
      assert.deepEqual(await modelInputFromUpload(deferred.original, deferred), node.png);
    }
    // The budget never refuses: the global limits do, from the header.
    const over = await small
      .prepare(large[1]!.bytes, { ...DEFAULT_IMAGE_LIMITS, maxPixels: 40_000_000 })
      .catch((e: unknown) => e);
    assert.ok(over instanceof ProblemError && over.code === 'image_too_large');
  });

  test('on a lossless 1600×1200 PNG, sharp in exact mode and the WASM path agree bit for bit', async () => {
    const noise = new Uint8Array(
      await sharp({
        create: {
          width: 1600,
          height: 1200,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 70 },
        },
      })
        .png({ compressionLevel: 1 })
        .toBuffer(),
    );
    const [exact, wasm, fast] = await Promise.all([
      preprocessForYiVl(noise, DEFAULT_IMAGE_LIMITS, { exact: true }),
      wasmProcessor.prepare(noise, DEFAULT_IMAGE_LIMITS),
      sharpProcessor.prepare(noise, DEFAULT_IMAGE_LIMITS),
    ]);
    assert.ok(wasm.png, 'decoded in the isolate');
    assert.deepEqual(await rgb(exact.png), await rgb(wasm.png));
    // The default (libvips reducer) path vs the exact one on white noise, the worst case (photos: max ≤ 3).
    const d = diff(await rgb(exact.png), await rgb(fast.png));
    console.log(
      `parity sharp default vs exact (noise PNG): mean ${d.mean.map((m) => m.toFixed(3)).join('/')} max ${d.max.join('/')}`,
    );
    assert.ok(Math.max(...d.max) <= 12 && Math.max(...d.mean) <= 0.5);
  });

  for (const input of inputs) {
    test(input.name, async () => {
      const [a, b] = await Promise.all([
        sharpProcessor.prepare(input.bytes, DEFAULT_IMAGE_LIMITS),
        wasmProcessor.prepare(input.bytes, DEFAULT_IMAGE_LIMITS),
      ]);
      assert.deepEqual([b.format, b.width, b.height, b.sha256], [a.format, a.width, a.height, a.sha256]);
      assert.ok(a.png && b.png, 'both decoded at the edge');
      const d = diff(await rgb(a.png), await rgb(b.png));
      const summary = `mean ${d.mean.map((m) => m.toFixed(3)).join('/')} max ${d.max.join('/')}`;
      console.log(`parity ${input.name}: ${summary}`);
      for (let c = 0; c < 3; c++) {
        assert.ok(d.mean[c]! <= MEAN_BOUND, `channel ${c} mean diff: ${summary}`);
        assert.ok(d.max[c]! <= MAX_BOUND, `channel ${c} max diff: ${summary}`);
      }
    });
  }
});
