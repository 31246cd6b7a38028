#!/usr/bin/env tsx
/**
 * Prepared GPU benchmark (not yet run on a GPU): Yi-VL-6B dimensions (H 4096, 32 heads, 4 KV heads, FFN 11008,
 * vocab 64,000; ViT-H/14 width 1280) with random weights generated on the machine, fp16 and int4 (fp16 compute),
 * on the CUDA EP (`--device cuda`: the JS step loop and the in-graph Loop decoder) or the WebGPU EP with the KV kept in GPU buffers
 * (`--device webgpu`; needs the GPU's Vulkan driver in the container). To finish in minutes it builds the LLM with two small layer counts and extrapolates the per-token
 * time linearly to 32 layers (t32 = t(a) + (t(b) − t(a))/(b − a)·(32 − a)); the ViT likewise from `--vision-layers`
 * to 31 layers. Prints and writes (to --out) per dtype: single-stream decode tok/s of the step loop and of the
 * in-graph Loop (K tokens per run), each as a fraction of the bandwidth bound (bytes of weights read per token /
 * --bandwidth-gbs), TTFT with one image split into vision / prefill / first step, and batch-8 decode throughput.
 *
 *   tsx bench/gpu.ts --device cuda|webgpu --out /tmp/gpu-bench [--layers 1,3] [--vision-layers 2] [--dtypes fp16,int4]
 *                    [--bandwidth-gbs 3350] [--scale 1]    (--scale 8 shrinks every width 8× for a CPU rehearsal;
 *                    --dtypes fp32 rehearses on a Vulkan driver without shader-f16, e.g. SwiftShader)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { convertCheckpoint } from '../gpu-worker/converter/convert.ts';
import { makeTinyCheckpoint, type TinyPreset } from '../gpu-worker/yi-vl/checkpoint/tiny.ts';
import { type EngineInput, YiVlEngine } from '../gpu-worker/yi-vl/pipeline/engine.ts';
import { KvCache, kvLayoutOf } from '../gpu-worker/yi-vl/pipeline/kv-cache.ts';
import { LoopDecoder } from '../gpu-worker/yi-vl/pipeline/loop-decoder.ts';
import { testImageRgb } from '../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';
import { median } from './decode/measure.ts';

const { values: a } = parseArgs({
  options: {
    device: { type: 'string', default: 'cuda' },
    out: { type: 'string' },
    layers: { type: 'string', default: '1,3' },
    'vision-layers': { type: 'string', default: '2' },
    dtypes: { type: 'string', default: 'fp16,int4' },
    'bandwidth-gbs': { type: 'string', default: '3350' },
    scale: { type: 'string', default: '1' },
    tokens: { type: 'string', default: '32' },
  },
});
const device = a.device as 'cuda' | 'cpu' | 'webgpu';
if (!['cuda', 'cpu', 'webgpu'].includes(device)) throw new Error(`--device: cuda, webgpu or cpu, not ${device}`);
const [la, lb] = a.layers!.split(',').map(Number) as [number, number];
const visionLayers = Number(a['vision-layers']);
const scale = Number(a.scale);
const bandwidth = Number(a['bandwidth-gbs']) * 1e9;
const TOKENS = Number(a.tokens);
const FULL_LAYERS = 32;
const H = 4096 / scale;
const FFN = 11008 / scale;
const VOCAB = 64000;

const preset = (layers: number): TinyPreset => ({
  llm: {
    hiddenSize: H,
    numLayers: layers,
    numHeads: 32 / Math.min(scale, 8),
    numKvHeads: 4 / Math.min(scale, 4),
    intermediateSize: FFN,
    maxPositionEmbeddings: 4096,
  },
  vision: {
    hiddenSize: 1280 / scale,
    numLayers: visionLayers,
    numHeads: 16 / Math.min(scale, 16),
    intermediateSize: 5120 / scale,
  },
});

/** Weight bytes one decode step reads at 32 layers (embedding table excluded, lm_head included). */
function bytesPerToken(dtype: string): number {
  const perLayer = 2 * H * H + (2 * (H * H)) / 8 + 3 * H * FFN; // q,o + k,v (4 of 32 heads) + MLP
  const params = FULL_LAYERS * perLayer + VOCAB * H;
  return dtype === 'int4' ? params * (4.5 / 8) : dtype === 'fp32' ? params * 4 : params * 2;
}

const extrapolate = (ta: number, tb: number) => ta + ((tb - ta) / (lb - la)) * (FULL_LAYERS - la);
const root = mkdtempSync(join(tmpdir(), 'yi-vl-gpu-bench-'));
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};
const report: Record<string, unknown> = {
  device,
  layers: [la, lb],
  visionLayers,
  scale,
  bandwidthGBs: bandwidth / 1e9,
};

try {
  say(
    `# Yi-VL-6B-shaped GPU bench on ${device}; LLM layers ${la},${lb} → 32 by extrapolation; ViT ${visionLayers} layers`,
  );
  const ckpt: Record<number, string> = {};
  for (const L of [la, lb]) {
    const t = performance.now();
    ckpt[L] = makeTinyCheckpoint({
      out: join(root, `ckpt-${L}`),
      preset: preset(L),
      seed: 1,
      dtype: 'fp16',
      shards: 1,
    });
    say(`checkpoint ${L} layers: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  for (const dtype of a.dtypes!.split(',') as ('fp16' | 'int4' | 'fp32')[]) {
    const per: Record<number, { step: number; loop: number; batch8: number; ttft: Record<string, number> }> = {};
    for (const L of [la, lb]) {
      const dir = join(root, `${dtype}-${L}`);
      const t = performance.now();
      const conv = { checkpoint: ckpt[L]!, out: dir, dtype, int4Compute: 'float16' } as const;
      await convertCheckpoint(conv); // decoder_loop.onnx included
      say(`${dtype} ${L} layers converted in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      // the step loop's per-step figures come from this engine; the in-graph loop is measured below on its own
      const engine = await YiVlEngine.load(dir, { device, prefixCache: true, decode: 'step' });
      say(
        `  provider ${engine.startup.provider}${engine.startup.warnings.length ? ` (${engine.startup.warnings.join('; ')})` : ''}`,
      );
      const input = (seed: number, n = TOKENS): EngineInput => ({
        rgb: testImageRgb(seed),
        question: 'Describe the image in detail.',
        params: { temperature: 0, maxNewTokens: n, repetitionPenalty: 1 },
      });
      try {
        await engine.analyze(input(1, 4)); // warm-up (kernels, arenas)
        const ttfts = [];
        const steps = [];
        for (let r = 0; r < 3; r++) {
          const before = engine.decoderStepStats;
          const res = await engine.analyze(input(10 + r));
          const after = engine.decoderStepStats;
          steps.push((after.ms - before.ms) / (after.calls - before.calls));
          ttfts.push(res.timings);
        }
        const loopMs = [];
        // The in-graph Loop decoder binds its KV as CPU tensors; it is measured on the CUDA and CPU EPs only.
        if (device !== 'webgpu') {
          const loop = await LoopDecoder.open(join(dir, 'decoder_loop.onnx'), engine.tokenizer.vocabSize, [-1], {
            executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
          });
          const layout = kvLayoutOf(engine.manifest);
          for (let r = 0; r < 3; r++) {
            const cache = new KvCache(layout, 1, 1200 + TOKENS + 1);
            const t0 = performance.now();
            const greedy = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1 };
            const row = { ...greedy, lastId: 5, length: 1200, budget: TOKENS };
            const n = (await loop.run(cache, [row], TOKENS))[0]!.length;
            loopMs.push((performance.now() - t0) / n);
          }
          await loop.release();
        } else loopMs.push(Number.NaN);
        const t8 = performance.now();
        const rs = await engine.analyzeBatch(Array.from({ length: 8 }, (_, i) => ({ input: input(30 + i) })));
        const n8 = rs.reduce((s, r) => s + (r.status === 'fulfilled' ? r.value.completion_tokens : 0), 0);
        per[L] = {
          step: median(steps),
          loop: median(loopMs),
          batch8: (n8 * 1000) / (performance.now() - t8),
          ttft: {
            vision: median(ttfts.map((x) => x.vision_ms)),
            prefill: median(ttfts.map((x) => x.prefill_ms)),
            firstStep: median(ttfts.map((x) => x.first_token_ms - x.prefill_ms)),
          },
        };
        say(
          `  ${L} layers: step ${per[L].step.toFixed(2)} ms/token, Loop ${per[L].loop.toFixed(2)} ms/token, batch-8 ${per[L].batch8.toFixed(1)} tok/s`,
        );
      } finally {
        await engine.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const pa = per[la]!;
    const pb = per[lb]!;
    const boundMs = (bytesPerToken(dtype) / bandwidth) * 1000;
    const stepMs = extrapolate(pa.step, pb.step);
    const loopMs = extrapolate(pa.loop, pb.loop);
    const prefillMs = extrapolate(pa.ttft.prefill!, pb.ttft.prefill!);
    const visionMs = (pb.ttft.vision! * 31) / Math.max(1, visionLayers - 1);
    const r = {
      boundTokS: 1000 / boundMs,
      stepTokS: 1000 / stepMs,
      stepFractionOfBound: boundMs / stepMs,
      loopTokS: 1000 / loopMs,
      loopFractionOfBound: boundMs / loopMs,
      ttftMs: { vision: visionMs, prefill: prefillMs, firstStep: pb.ttft.firstStep, total: visionMs + prefillMs },
      batch8TokSAtMeasuredLayers: { [la]: pa.batch8, [lb]: pb.batch8 },
    };
    report[dtype] = r;
    say(
      `${dtype} @32 layers (extrapolated): bound ${r.boundTokS.toFixed(0)} tok/s | step loop ${r.stepTokS.toFixed(1)} tok/s ` +
        `(${(r.stepFractionOfBound * 100).toFixed(1)} % of bound) | in-graph Loop K=${TOKENS} ` +
        `${Number.isNaN(r.loopTokS) ? 'not run on this EP' : `${r.loopTokS.toFixed(1)} tok/s (${(r.loopFractionOfBound * 100).toFixed(1)} %)`}` +
        ` | TTFT ≈ ${r.ttftMs.total.toFixed(1)} ms ` +
        `(vision ${visionMs.toFixed(1)}, prefill ${prefillMs.toFixed(1)})`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
  if (a.out) {
    mkdirSync(a.out, { recursive: true });
    writeFileSync(join(a.out, 'gpu-bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(a.out, 'gpu-bench.txt'), `${lines.join('\n')}\n`);
  }
}
