#!/usr/bin/env tsx
// npm run convert -- --checkpoint <dir> --out <dir> --dtype fp32|fp16|int4 [--block-size 32] [--accuracy-level 0]
//   [--int4-compute fp32|fp16] [--no-decoder-loop]
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../gpu-worker/converter/convert.ts';
import type { WeightDtype } from '../gpu-worker/converter/model-builder.ts';

const USAGE =
  'usage: npm run convert -- --checkpoint <yi-vl-dir> --out <dir> --dtype fp32|fp16|int4 [--block-size 32] [--accuracy-level 0] [--int4-compute fp32|fp16] [--no-decoder-loop]';

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        checkpoint: { type: 'string' },
        out: { type: 'string' },
        dtype: { type: 'string', default: 'fp32' },
        'block-size': { type: 'string', default: '32' },
        'accuracy-level': { type: 'string', default: '0' },
        'int4-compute': { type: 'string', default: 'fp32' },
        'no-decoder-loop': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const checkpoint = values.checkpoint as string | undefined;
  const out = values.out as string | undefined;
  const dtype = values.dtype as string;
  if (!checkpoint || !out) {
    console.error(`--checkpoint and --out are required\n${USAGE}`);
    return 2;
  }
  if (!['fp32', 'fp16', 'int4'].includes(dtype)) {
    console.error(`--dtype must be fp32, fp16 or int4 (got ${dtype})`);
    return 2;
  }
  const blockSize = Number(values['block-size']);
  const accuracyLevel = Number(values['accuracy-level']);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    console.error('--block-size must be a power of 2, at least 16');
    return 2;
  }
  if (![0, 1, 2, 3, 4].includes(accuracyLevel)) {
    console.error('--accuracy-level must be 0…4');
    return 2;
  }
  const int4Compute = values['int4-compute'] as string;
  if (int4Compute !== 'fp32' && int4Compute !== 'fp16') {
    console.error('--int4-compute must be fp32 (CPU) or fp16 (CUDA)');
    return 2;
  }
  const t0 = performance.now();
  try {
    const m = await convertCheckpoint({
      checkpoint,
      out,
      dtype: dtype as WeightDtype,
      blockSize,
      accuracyLevel,
      int4Compute: int4Compute === 'fp16' ? 'float16' : 'float32',
      decoderLoop: !values['no-decoder-loop'],
      onProgress: (msg) => process.stderr.write(`[convert ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`),
    });
    const bytes = Object.values(m.files).reduce((a, f) => a + f.bytes, 0);
    process.stderr.write(
      `converted ${checkpoint} → ${out} (${dtype}, ${(bytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
        `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`,
    );
    return 0;
  } catch (e) {
    console.error(`convert failed: ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main();
