/**
 * The bad-input suite: every hostile file is a 4xx with the right problem code (bombs refused from the header, fast),
 * every awkward-but-valid file is accepted with the right format, oriented size, pad colour and placement — on the
 * sharp processor (Node/Lambda) and the WebAssembly processor (Workers) alike. Where the WebAssembly processor hands
 * an upload on undecoded (over the isolate's budget, animated WebP), the worker's preparation of it is what is checked.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { DeferredImage, ImageProcessor, PreparedImage } from '../../edge/image/image-processor.ts';
import { loadWasmCodecModulesFromNodeModules } from '../../edge/image/node-wasm-modules.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { WasmImageProcessor } from '../../edge/image/wasm-image-processor.ts';
import { PROBLEM_CODES, ProblemError } from '../../shared/errors/problem.ts';
import { modelInputFromUpload } from '../../shared/image/deferred-input.ts';
import { ACCEPTED_FORMATS_TEXT } from '../../shared/image/formats.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { squarePlacement, YI_VL_PAD_RGB } from '../../shared/image/yi-vl-resize.ts';
import { buildCorpus, buildLargeCorpus, type HostileCase, type Rgb, toModelPoint, type ValidCase } from './corpus.ts';

const corpus = await buildCorpus();
const large = await buildLargeCorpus();
const processors: [string, () => Promise<ImageProcessor>][] = [
  ['sharp', async () => new SharpImageProcessor()],
  ['wasm', async () => new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules())],
];

/** The model input: made at the edge, or by the worker from a deferred upload. */
async function modelPng(prepared: PreparedImage | DeferredImage): Promise<Uint8Array> {
  return prepared.png ?? modelInputFromUpload(prepared.original, prepared);
}

async function pixelsOf(prepared: PreparedImage | DeferredImage): Promise<Uint8Array> {
  const { data, info } = await sharp(await modelPng(prepared))
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 448);
  assert.equal(info.height, 448);
  assert.equal(info.channels, 3, 'stored PNG is RGB');
  return new Uint8Array(data);
}

function at(px: Uint8Array, x: number, y: number): Rgb {
  const i = (y * 448 + x) * 3;
  return [px[i]!, px[i + 1]!, px[i + 2]!];
}

function assertNear(actual: Rgb, expected: Rgb, tolerance: number, where: string) {
  const off = Math.max(...actual.map((v, i) => Math.abs(v - expected[i]!)));
  assert.ok(off <= tolerance, `${where}: got ${actual}, expected ${expected} ± ${tolerance}`);
}

async function refusal(processor: ImageProcessor, bytes: Uint8Array): Promise<ProblemError> {
  try {
    await processor.prepare(bytes, DEFAULT_IMAGE_LIMITS);
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  assert.fail('accepted');
}

for (const [name, make] of processors) {
  describe(`${name} image processor`, () => {
    let processor: ImageProcessor;
    before(async () => {
      processor = await make();
    });

    describe('hostile uploads are refused with the right code', () => {
      for (const c of corpus.hostile as HostileCase[]) {
        test(c.name, async () => {
          const started = performance.now();
          const error = await refusal(processor, c.bytes);
          const elapsed = performance.now() - started;
          assert.equal(error.code, c.code, error.message);
          assert.ok(PROBLEM_CODES[c.code].status >= 400 && PROBLEM_CODES[c.code].status < 500);
          if (c.code === 'unsupported_media_type') assert.match(error.message, new RegExp(ACCEPTED_FORMATS_TEXT));
          if (c.refuseWithinMs !== undefined) {
            assert.ok(elapsed < c.refuseWithinMs, `refused in ${elapsed.toFixed(1)} ms`);
          }
        });
      }

      test('the byte cap comes first (413), before sniffing', async () => {
        const error = await refusal(processor, new Uint8Array(101).fill(0x3c));
        assert.equal(error.code, 'unsupported_media_type');
        const capped = await processor
          .prepare(new Uint8Array(101).fill(0x3c), { ...DEFAULT_IMAGE_LIMITS, maxBytes: 100 })
          .catch((e: unknown) => e);
        assert.ok(capped instanceof ProblemError);
        assert.equal(capped.code, 'payload_too_large');
        assert.equal(capped.status, 413);
      });

      test('a per-side cap below the image refuses it', async () => {
        const png = corpus.valid.find((v) => v.name.startsWith('png '))!;
        const error = await processor
          .prepare(png.bytes, { ...DEFAULT_IMAGE_LIMITS, maxSide: 150 })
          .catch((e: unknown) => e);
        assert.ok(error instanceof ProblemError);
        assert.equal(error.code, 'image_too_large');
      });
    });

    describe('awkward but valid uploads are accepted correctly', () => {
      for (const c of [...corpus.valid, ...large] as ValidCase[]) {
        test(c.name, async () => {
          const prepared = await processor.prepare(c.bytes, DEFAULT_IMAGE_LIMITS);
          assert.equal(prepared.format, c.format);
          assert.deepEqual([prepared.width, prepared.height], [c.width, c.height], 'oriented size');
          assert.equal(prepared.bytes, c.bytes.length);
          assert.equal(prepared.sha256, createHash('sha256').update(c.bytes).digest('hex'));
          assert.deepEqual([prepared.modelWidth, prepared.modelHeight], [448, 448]);
          const px = await pixelsOf(prepared);
          for (const p of c.probes) {
            const m = toModelPoint(p.x, p.y, c.width, c.height);
            const tolerance = name === 'wasm' && c.wasmTolerance !== undefined ? c.wasmTolerance : p.tolerance;
            assertNear(at(px, m.x, m.y), p.rgb, tolerance, `(${p.x},${p.y}) → model (${m.x},${m.y})`);
          }
          if (name === 'wasm') {
            // Decoded in the isolate unless over its budget or animated: those go to the worker, undecoded.
            assert.equal(prepared.png === undefined, large.includes(c), 'deferred to the worker');
          }
          // The pad band, well away from the image edge, is exactly (122,116,104).
          const { side, left, top } = squarePlacement(c.width, c.height);
          const band = (Math.max(left, top) * 448) / side;
          if (band >= 6) {
            const mid = Math.floor(band / 2);
            for (const [x, y] of left > top
              ? [
                  [mid, 224],
                  [447 - mid, 224],
                ]
              : [
                  [224, mid],
                  [224, 447 - mid],
                ]) {
              assert.deepEqual(at(px, x!, y!), YI_VL_PAD_RGB, `pad at (${x},${y})`);
            }
          }
        });
      }
    });
  });
}
