#!/usr/bin/env tsx
// Convert time and peak RSS for the tiny and small presets, against a same-run baseline (plain copy of the
// checkpoint's bytes), plus an extrapolation to Yi-VL-6B. Usage: tsx bench/convert.ts [--presets tiny,small] [--dtypes fp32,fp16,int4]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../gpu-worker/converter/convert.ts';
import type { WeightDtype } from '../gpu-worker/converter/model-builder.ts';
import { openCheckpoint } from '../gpu-worker/yi-vl/checkpoint/checkpoint.ts';
import { makeTinyCheckpoint } from '../gpu-worker/yi-vl/checkpoint/tiny.ts';

interface ChildResult {
  seconds: number;
  maxRssMiB: number;
  inBytes: number;
  outBytes: number;
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, f));
    if (s.isFile()) n += s.size;
  }
  return n;
}

function copyFolder(src: string, dst: string): void {
  for (const f of readdirSync(src, { recursive: true }) as string[]) {
    const s = statSync(join(src, f));
    if (s.isDirectory()) mkdirSync(join(dst, f), { recursive: true });
    else copyFileSync(join(src, f), join(dst, f));
  }
}

/** float32 bytes of the checkpoint's largest tensor (what one conversion step holds at once). */
function largestTensorF32(dir: string): number {
  const ckpt = openCheckpoint(dir);
  try {
    let max = 0;
    for (const store of [ckpt.main, ckpt.vit]) {
      for (const n of store.names()) max = Math.max(max, store.info(n).shape.reduce((a, b) => a * b, 1) * 4);
    }
    return max;
  } finally {
    ckpt.close();
  }
}

/** Runs in a fresh process so that maxRSS belongs to one conversion (or one copy) only. */
async function child(mode: string, ckpt: string, out: string, dtype: string): Promise<void> {
  const t0 = performance.now();
  if (mode === 'copy') {
    mkdirSync(out, { recursive: true });
    copyFolder(ckpt, out);
  } else {
    await convertCheckpoint({ checkpoint: ckpt, out, dtype: dtype as WeightDtype });
  }
  const result: ChildResult = {
    seconds: (performance.now() - t0) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    inBytes: folderBytes(ckpt),
    outBytes: folderBytes(out),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(mode: string, ckpt: string, out: string, dtype: string): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', mode, ckpt, out, dtype], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [mode, ckpt, out, dtype] = process.argv.slice(3) as [string, string, string, string];
    await child(mode, ckpt, out, dtype);
    return;
  }
  const { values } = parseArgs({
    options: {
      presets: { type: 'string', default: 'tiny,small' },
      dtypes: { type: 'string', default: 'fp32,fp16,int4' },
    },
  });
  const root = mkdtempSync(join(tmpdir(), 'bench-convert-'));
  const YI_VL_6B_BYTES = 13.43e9 + 2.53e9; // bf16 main shards (incl. in-shard tower copy) + fp32 vit/ (spec §1)
  const YI_VL_6B_LARGEST = 64000 * 4096 * 4; // lm_head / embed_tokens as float32
  const presets = (values.presets as string).split(',');
  const results = new Map<string, ChildResult & { largest: number }>();
  try {
    console.log('preset dtype   ckpt MiB  out MiB  convert s  copy s  ratio  peak RSS MiB (copy)  MB/s in');
    for (const preset of presets) {
      const ckpt = makeTinyCheckpoint({ out: join(root, `${preset}-ckpt`), preset, dtype: 'bf16' });
      for (const dtype of (values.dtypes as string).split(',')) {
        const copy = runChild('copy', ckpt, join(root, `${preset}-copy-${dtype}`), dtype);
        const conv = runChild('convert', ckpt, join(root, `${preset}-${dtype}`), dtype);
        const mbps = conv.inBytes / 1e6 / conv.seconds;
        console.log(
          `${preset.padEnd(6)} ${dtype.padEnd(6)} ${(conv.inBytes / 2 ** 20).toFixed(1).padStart(9)} ${(conv.outBytes / 2 ** 20).toFixed(1).padStart(8)} ` +
            `${conv.seconds.toFixed(2).padStart(10)} ${copy.seconds.toFixed(2).padStart(7)} ${(conv.seconds / copy.seconds).toFixed(1).padStart(6)} ` +
            `${conv.maxRssMiB.toFixed(0).padStart(13)} (${copy.maxRssMiB.toFixed(0)}) ${mbps.toFixed(0).padStart(8)}`,
        );
        results.set(`${preset}/${dtype}`, { ...conv, largest: largestTensorF32(ckpt) });
        if (preset === presets[presets.length - 1]) {
          // Peak memory grows with the largest single tensor (read → float32 → transposed/converted copy), not with
          // the checkpoint size: fit peak = base + k · largest on the first and last preset.
          const first = results.get(`${presets[0]}/${dtype}`)!;
          const last = results.get(`${preset}/${dtype}`)!;
          const k =
            presets.length > 1 ? (last.maxRssMiB - first.maxRssMiB) / ((last.largest - first.largest) / 2 ** 20) : 3;
          const peak6b = first.maxRssMiB + k * (YI_VL_6B_LARGEST / 2 ** 20);
          console.log(
            `  → Yi-VL-6B ${dtype}: ≈ ${(YI_VL_6B_BYTES / 1e6 / mbps / 60).toFixed(1)} min at ${mbps.toFixed(0)} MB/s of checkpoint (linear in bytes); ` +
              `peak RSS ≈ ${(peak6b / 1024).toFixed(1)} GiB (${k.toFixed(1)} × the 1 GiB float32 lm_head/embed_tokens + base)`,
          );
        }
        rmSync(join(root, `${preset}-${dtype}`), { recursive: true, force: true });
        rmSync(join(root, `${preset}-copy-${dtype}`), { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
