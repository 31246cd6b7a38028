#!/usr/bin/env tsx
// Writes a random-weight Yi-VL checkpoint in the official layout:
//   tsx scripts/make-tiny-checkpoint.ts --out <dir> [--dtype bf16|fp16|fp32] [--seed N] [--preset tiny|small] [--shards 2]
import { parseArgs } from 'node:util';
import { makeTinyCheckpoint, PRESETS } from '../gpu-worker/yi-vl/checkpoint/tiny.ts';

const USAGE = `usage: tsx scripts/make-tiny-checkpoint.ts --out <dir> [--dtype bf16|fp16|fp32] [--seed N] [--preset ${Object.keys(PRESETS).join('|')}] [--shards N] [--format safetensors|bin]`;

function main(): number {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: 'string' },
        dtype: { type: 'string', default: 'bf16' },
        seed: { type: 'string', default: '1' },
        preset: { type: 'string', default: 'tiny' },
        shards: { type: 'string', default: '2' },
        format: { type: 'string', default: 'safetensors' },
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
  const out = values.out as string | undefined;
  const dtype = values.dtype as string;
  const preset = values.preset as string;
  if (!out) {
    console.error(`--out is required\n${USAGE}`);
    return 2;
  }
  if (dtype !== 'bf16' && dtype !== 'fp16' && dtype !== 'fp32') {
    console.error('--dtype must be bf16, fp16 or fp32');
    return 2;
  }
  if (!(preset in PRESETS)) {
    console.error(`unknown --preset ${preset}\n${USAGE}`);
    return 2;
  }
  const seed = Number(values.seed);
  const shards = Number(values.shards);
  if (!Number.isInteger(seed) || !Number.isInteger(shards) || shards < 1) {
    console.error('--seed and --shards must be integers (shards ≥ 1)');
    return 2;
  }
  const format = values.format as string;
  if (format !== 'safetensors' && format !== 'bin') {
    console.error('--format must be safetensors or bin');
    return 2;
  }
  const dir = makeTinyCheckpoint({ out, dtype, seed, preset, shards, format });
  console.error(`wrote random-weight Yi-VL checkpoint (${preset}, ${dtype}, ${format}, seed ${seed}) to ${dir}`);
  return 0;
}

process.exitCode = main();
