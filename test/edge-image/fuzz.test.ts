/**
 * Robustness: random corruptions of valid uploads (byte flips, truncation, spliced junk) must never escape as
 * anything but a 4xx ProblemError — or be accepted as a well-formed 448×448 result. Seeded, so failures replay.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { ImageProcessor } from '../../edge/image/image-processor.ts';
import { loadWasmCodecModulesFromNodeModules } from '../../edge/image/node-wasm-modules.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { WasmImageProcessor } from '../../edge/image/wasm-image-processor.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { buildCorpus } from './corpus.ts';

const RUNS = 100;

describe('corrupted uploads never cause anything but a 4xx', async () => {
  const { valid } = await buildCorpus();
  const seeds = valid.filter((v) => v.bytes.length < 64 * 1024).map((v) => v.bytes);
  const processors: [string, ImageProcessor][] = [
    ['sharp', new SharpImageProcessor()],
    ['wasm', new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules())],
  ];
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 12 }),
    cut: fc.option(fc.double({ min: 0.05, max: 1, noNaN: true }), { nil: undefined }),
  });

  for (const [name, processor] of processors) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(mutation, async ({ seed, flips, cut }) => {
          const bytes = seeds[seed]!.slice();
          // Keep the magic bytes mostly intact so the decoders, not just the sniffer, see the damage.
          for (const f of flips) bytes[16 + (f.at % Math.max(1, bytes.length - 16))] = f.value;
          const upload = cut === undefined ? bytes : bytes.slice(0, Math.max(1, Math.floor(bytes.length * cut)));
          try {
            const prepared = await processor.prepare(upload, DEFAULT_IMAGE_LIMITS);
            assert.deepEqual([prepared.modelWidth, prepared.modelHeight], [448, 448]);
            assert.ok((prepared.png ?? prepared.original).length > 0);
          } catch (error) {
            assert.ok(error instanceof ProblemError, `non-problem error: ${String(error)}`);
            assert.ok(error.status >= 400 && error.status < 500, `status ${error.status}`);
          }
        }),
        { numRuns: RUNS, seed: 20261127 },
      );
    });
  }
});
