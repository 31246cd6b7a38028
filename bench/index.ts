#!/usr/bin/env tsx
/**
 * Decode-path benchmarks on the CPU EP (`npm run bench`), every figure a ratio against a baseline measured in the
 * same process: (a) pipeline decode vs a bare session.run chain, and in-place vs copied KV binding; (b) fused
 * (GQA + SimplifiedLayerNorm) vs plain-op decoder; (c) TTFT split; (d) batched vision and batched decode vs one
 * by one; (e) system-prompt KV reuse and image-feature cache hit vs miss; (f) structured answers: grammar mask per
 * token beside a decoder step, schema compile cache miss vs hit, constrained vs free decode tok/s through the
 * engine. Models are random-weight tiny/small
 * presets converted into a temp dir. BENCH_BUDGET_S (default 420) bounds the run: sections that would start after
 * it are skipped and say so. BENCH_PRESET=tiny|small (default small) picks the model; BENCH_THREADS (default 1);
 * BENCH_ONLY=<text> runs only the sections whose title contains it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../gpu-worker/converter/convert.ts';
import { makeTinyCheckpoint } from '../gpu-worker/yi-vl/checkpoint/tiny.ts';
import { type BenchContext, SECTIONS } from './decode/sections.ts';
import { STRUCTURED_SECTIONS } from './decode/structured.ts';

const budgetS = Number(process.env.BENCH_BUDGET_S ?? 420);
const preset = process.env.BENCH_PRESET ?? 'small';
const threads = Number(process.env.BENCH_THREADS ?? 1);
const deadline = performance.now() + budgetS * 1000;
const root = mkdtempSync(join(tmpdir(), 'yi-vl-bench-'));

try {
  const t = performance.now();
  const checkpointDir = makeTinyCheckpoint({
    out: join(root, 'checkpoint'),
    preset,
    seed: 5,
    dtype: 'fp32',
    shards: 1,
  });
  const modelDir = join(root, 'onnx');
  await convertCheckpoint({ checkpoint: checkpointDir, out: modelDir, dtype: 'fp32' });
  console.log(
    `# yi-vl decode bench — preset ${preset}, fp32, CPU EP, intraOpNumThreads ${threads}, node ${process.version}, ` +
      `budget ${budgetS}s (setup ${((performance.now() - t) / 1000).toFixed(1)}s)`,
  );
  const ctx: BenchContext = { root, checkpointDir, modelDir, threads, deadline };
  const only = process.env.BENCH_ONLY;
  for (const section of [...SECTIONS, ...STRUCTURED_SECTIONS].filter((x) => !only || x.name.includes(only))) {
    if (performance.now() > deadline) {
      console.log(`(${section.name}) skipped: time budget spent`);
      continue;
    }
    const s = performance.now();
    console.log(`\n## ${section.name}`);
    for (const l of await section.run(ctx)) console.log(l);
    console.log(`   (${((performance.now() - s) / 1000).toFixed(1)}s)`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
