/**
 * What the Workers image path costs per upload: peak resident memory above a warmed-up process (the codecs
 * initialised on a small image first) and CPU time, each image in a fresh Node process so peaks do not mix. RSS
 * over-counts an isolate (it includes Node's own native allocations), so the figures are upper bounds for the
 * 128 MB isolate limit. Usage: `node --import tsx test/edge-image/workers-memory.ts` (prints a Markdown table).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadWasmCodecModulesFromNodeModules } from '../../edge/image/node-wasm-modules.ts';
import { WasmImageProcessor } from '../../edge/image/wasm-image-processor.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { buildLargeCorpus } from './corpus.ts';

async function measureOne(path: string): Promise<void> {
  const processor = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules());
  const warm = new Uint8Array(
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
      .jpeg()
      .toBuffer(),
  );
  await processor.prepare(warm, DEFAULT_IMAGE_LIMITS);
  const upload = new Uint8Array(readFileSync(path));
  const rssBefore = process.resourceUsage().maxRSS;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const prepared = await processor.prepare(upload, DEFAULT_IMAGE_LIMITS);
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const peak = process.resourceUsage().maxRSS;
  console.log(
    JSON.stringify({
      path: prepared.png ? 'decoded in the isolate' : 'validated, deferred to the worker',
      peakMiB: (peak - rssBefore) / 1024,
      cpuMs: (used.user + used.system) / 1000,
      wallMs: wall,
    }),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'workers-memory-'));
  try {
    const photo = (w: number, h: number) =>
      sharp({
        create: {
          width: w,
          height: h,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 50 },
        },
      })
        .blur(2)
        .jpeg({ quality: 88 })
        .toBuffer();
    const images: [string, Uint8Array][] = [
      ['JPEG 3000×2000 (6 MP, the decode budget)', new Uint8Array(await photo(3000, 2000))],
      ['JPEG 4000×3000 (12 MP phone photo)', new Uint8Array(await photo(4000, 3000))],
      ...(await buildLargeCorpus()).slice(1).map((c) => [c.name, c.bytes] as [string, Uint8Array]),
    ];
    console.log('| image | upload | path | peak RSS above warm process | CPU |');
    console.log('|---|---:|---|---:|---:|');
    for (const [name, bytes] of images) {
      const file = join(dir, 'upload');
      writeFileSync(file, bytes);
      const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, file], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { path: string; peakMiB: number; cpuMs: number };
      console.log(
        `| ${name} | ${(bytes.length / 1024 / 1024).toFixed(1)} MiB | ${r.path} | ${r.peakMiB.toFixed(0)} MiB | ${r.cpuMs.toFixed(0)} ms |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2]) await measureOne(process.argv[2]);
else await main();
