// The sections of `npm run bench` (bench/index.ts). Each returns printable lines with its ratios. The sections are
// independent and short (30–70 lines each); they stay in one file so that bench/index.ts lists them in run order.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nextTokenGraph } from '../../gpu-worker/converter/builder/next-token.ts';
import { convertCheckpoint } from '../../gpu-worker/converter/convert.ts';
import ort from '../../gpu-worker/onnx/runtime.ts';
import { Rng } from '../../gpu-worker/yi-vl/checkpoint/rng.ts';
import {
  applyProcessors,
  buildLogitsProcessors,
  type SamplingParams,
} from '../../gpu-worker/yi-vl/generation/logits-processors.ts';
import { argmax, drawFrom } from '../../gpu-worker/yi-vl/generation/sampler.ts';
import { DecoderDriver } from '../../gpu-worker/yi-vl/pipeline/decoder-driver.ts';
import { type EngineInput, type EngineResult, YiVlEngine } from '../../gpu-worker/yi-vl/pipeline/engine.ts';
import { KvCache, kvLayoutOf } from '../../gpu-worker/yi-vl/pipeline/kv-cache.ts';
import { readManifest } from '../../gpu-worker/yi-vl/pipeline/manifest.ts';
import { testImageRgb } from '../../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';
import { useSoftwareVulkanIfNoDriver } from '../../gpu-worker/yi-vl/pipeline/testing/webgpu.ts';
import { IMAGE_SIZE, normalizeRgbToNchw } from '../../gpu-worker/yi-vl/preprocess/clip-normalize.ts';
import { bareChainTokensPerSecond, plainChainTokensPerSecond, prefillMs } from './bare-chain.ts';
import { abMedians, fmt, line, median } from './measure.ts';
import { deviceKvTokensPerSecond, webgpuDecoder } from './webgpu-chain.ts';

export interface BenchContext {
  root: string;
  checkpointDir: string;
  modelDir: string;
  threads: number;
  deadline: number;
}

export interface Section {
  name: string;
  run(ctx: BenchContext): Promise<string[]>;
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const DECODE_TOKENS = Number(process.env.BENCH_DECODE_TOKENS ?? 24);

function sessionOptions(ctx: BenchContext): ort.InferenceSession.SessionOptions {
  return { graphOptimizationLevel: 'all', intraOpNumThreads: ctx.threads, executionProviders: ['cpu'] };
}

/** Engines on the JS step path: the sections that use these measure it (the in-graph loop has its own section). */
async function engines(ctx: BenchContext) {
  const base = { device: 'cpu', intraOpNumThreads: ctx.threads, decode: 'step' } as const;
  const fast = await YiVlEngine.load(ctx.modelDir, base);
  const plain = await YiVlEngine.load(ctx.modelDir, { ...base, prefixCache: false, imageCacheSize: 0 });
  return { fast, plain, close: async () => Promise.all([fast.close(), plain.close()]) };
}

const greedy = (maxNewTokens: number, question = 'Describe the image.', seed = 1): EngineInput => ({
  rgb: testImageRgb(seed),
  question,
  params: { temperature: 0, maxNewTokens },
});

const decodeOverhead: Section = {
  name: '(a) decode: pipeline vs bare session.run chain; KV bound in place vs copied',
  async run(ctx) {
    const m = readManifest(ctx.modelDir);
    const dec = await ort.InferenceSession.create(join(ctx.modelDir, 'decoder.onnx'), sessionOptions(ctx));
    const { fast, close } = await engines(ctx);
    try {
      const probe = await fast.analyze(greedy(DECODE_TOKENS));
      const startLength = probe.prompt_tokens + probe.image_tokens;
      const steps = Math.max(2, probe.completion_tokens - 1);
      const bare = () => bareChainTokensPerSecond(dec, m, { startLength, steps, binding: 'inplace' });
      const copy = () => bareChainTokensPerSecond(dec, m, { startLength, steps, binding: 'copy' });
      const inLoop: number[] = [];
      const pipeline = async () => {
        const before = fast.decoderStepStats;
        const r = await fast.analyze(greedy(DECODE_TOKENS));
        const after = fast.decoderStepStats;
        inLoop.push((after.ms - before.ms) / r.timings.decode_ms);
        return r.timings.tokens_per_second;
      };
      const r1 = await abMedians(ROUNDS, pipeline, bare);
      const r2 = await abMedians(ROUNDS, bare, copy);
      return [
        `context ${startLength} positions, ${probe.completion_tokens} generated tokens per answer, ${ROUNDS} interleaved rounds, medians`,
        line('pipeline tok/s / bare chain tok/s', ['pipeline', r1.a, ' tok/s'], ['bare', r1.b, ' tok/s']),
        `   spread: pipeline ${r1.as.map((x) => fmt(x)).join(' ')} | bare ${r1.bs.map((x) => fmt(x)).join(' ')}`,
        `   share of the pipeline's decode time spent inside session.run (same steps, noise-free): ${fmt(median(inLoop), 3)}`,
        line('KV in place / KV copied (bare chains)', ['inplace', r2.a, ' tok/s'], ['copy', r2.b, ' tok/s']),
      ];
    } finally {
      await close();
      await dec.release();
    }
  },
};

const ttft: Section = {
  name: '(c) TTFT split (image + prompt → first token) and (e) system-prompt KV reuse',
  async run(ctx) {
    const { fast, plain, close } = await engines(ctx);
    try {
      const split = (e: YiVlEngine, seed: number) => e.analyze(greedy(1, 'What is shown here?', seed));
      const fastRuns: EngineResult[] = [];
      const plainRuns: EngineResult[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // a new image every round: both engines encode it (no image-cache hit)
        fastRuns.push(await split(fast, 100 + r));
        plainRuns.push(await split(plain, 100 + r));
      }
      const med = (rs: typeof fastRuns, f: (x: (typeof fastRuns)[number]) => number) => median(rs.map(f));
      const ttftOf = (x: (typeof fastRuns)[number]) =>
        x.timings.preprocess_ms + x.timings.vision_ms + x.timings.embed_ms + x.timings.first_token_ms;
      const row = (label: string, rs: typeof fastRuns) =>
        `${label.padEnd(26)} vision=${fmt(med(rs, (x) => x.timings.preprocess_ms + x.timings.vision_ms))}ms ` +
        `embed=${fmt(med(rs, (x) => x.timings.embed_ms))}ms prefill=${fmt(med(rs, (x) => x.timings.prefill_ms))}ms ` +
        `first-step=${fmt(
          med(rs, (x) => x.timings.first_token_ms - x.timings.prefill_ms),
          2,
        )}ms TTFT=${fmt(med(rs, ttftOf))}ms`;
      return [
        `prompt ${fastRuns[0]!.prompt_tokens} text + ${fastRuns[0]!.image_tokens} image positions; prefix reused: ${fastRuns[0]!.prefix_cache_hit}`,
        row('with system-prompt KV', fastRuns),
        row('full prefill', plainRuns),
        line(
          'prefill: prefix reuse / full',
          ['reuse', med(fastRuns, (x) => x.timings.prefill_ms), 'ms'],
          ['full', med(plainRuns, (x) => x.timings.prefill_ms), 'ms'],
        ),
        line(
          'TTFT: prefix reuse / full',
          ['reuse', med(fastRuns, ttftOf), 'ms'],
          ['full', med(plainRuns, ttftOf), 'ms'],
        ),
      ];
    } finally {
      await close();
    }
  },
};

const imageCache: Section = {
  name: '(e) image-feature cache: follow-up question on the same image, hit vs miss',
  async run(ctx) {
    const { fast, plain, close } = await engines(ctx);
    try {
      const follow = (e: YiVlEngine) => async () =>
        (
          await e.analyze({
            ...greedy(1, 'And the colours?', 7),
            history: [{ question: 'What is it?', answer: 'A pattern.' }],
          })
        ).timings.total_ms;
      await fast.analyze(greedy(1, 'What is it?', 7));
      const r = await abMedians(ROUNDS, follow(fast), follow(plain));
      return [line('TTFT of a follow-up: hit / miss', ['hit', r.a, 'ms'], ['miss', r.b, 'ms'])];
    } finally {
      await close();
    }
  },
};

const batching: Section = {
  name: '(d) batching: vision N images batched vs one by one; N answers decoded as one batch vs in sequence',
  async run(ctx) {
    const N = Number(process.env.BENCH_BATCH ?? 4);
    const vision = await ort.InferenceSession.create(join(ctx.modelDir, 'vision.onnx'), sessionOptions(ctx));
    const { fast, close } = await engines(ctx);
    try {
      const size = IMAGE_SIZE * IMAGE_SIZE * 3;
      const pixels = new Float32Array(N * size);
      for (let i = 0; i < N; i++) pixels.set(normalizeRgbToNchw(testImageRgb(20 + i)), i * size);
      const timed = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      const batched = () =>
        timed(() => vision.run({ pixel_values: new ort.Tensor('float32', pixels, [N, 3, IMAGE_SIZE, IMAGE_SIZE]) }));
      const oneByOne = () =>
        timed(async () => {
          for (let i = 0; i < N; i++) {
            await vision.run({
              pixel_values: new ort.Tensor('float32', pixels.subarray(i * size, (i + 1) * size), [
                1,
                3,
                IMAGE_SIZE,
                IMAGE_SIZE,
              ]),
            });
          }
        });
      const v = await abMedians(Math.max(3, ROUNDS - 2), batched, oneByOne);

      const questions = [
        'Describe the image.',
        'What colour dominates?',
        'Is there text?',
        'Count the shapes.',
        'Where is this?',
      ];
      const inputs = Array.from({ length: N }, (_, i) =>
        greedy(DECODE_TOKENS, questions[i % questions.length], 40 + i),
      );
      for (const input of inputs) await fast.analyze({ ...input, params: { temperature: 0, maxNewTokens: 1 } }); // warm the image cache
      let tokens = 0;
      // decode-only throughput: tokens made by one-position steps / time inside those session.run calls
      const stepRate = { batch: [] as number[], seq: [] as number[] };
      const stepsOf = (before: { calls: number; ms: number }, n: number) => {
        const after = fast.decoderStepStats;
        return ((n - inputs.length) * 1000) / (after.ms - before.ms);
      };
      const batchRun = async () => {
        const before = fast.decoderStepStats;
        const t = performance.now();
        const rs = await fast.analyzeBatch(inputs.map((input) => ({ input })));
        const ms = performance.now() - t;
        tokens = rs.reduce((a, r) => a + (r.status === 'fulfilled' ? r.value.completion_tokens : 0), 0);
        stepRate.batch.push(stepsOf(before, tokens));
        return (tokens * 1000) / ms;
      };
      const seqRun = async () => {
        const before = fast.decoderStepStats;
        const t = performance.now();
        let n = 0;
        for (const input of inputs) n += (await fast.analyze(input)).completion_tokens;
        const ms = performance.now() - t;
        stepRate.seq.push(stepsOf(before, n));
        return (n * 1000) / ms;
      };
      const d = await abMedians(Math.max(3, ROUNDS - 2), batchRun, seqRun);
      return [
        line(`vision (CPU EP): one call of ${N} / ${N} calls`, ['batched', v.a, 'ms'], ['one-by-one', v.b, 'ms']),
        `   → batched vision speed-up ${fmt(v.b / v.a, 3)}×`,
        line(`decode ${N} answers: batch / sequential`, ['batch', d.a, ' tok/s'], ['sequential', d.b, ' tok/s']),
        `   (${tokens} tokens per run, images cached, prefill included in both)`,
        line(
          `decode steps only: batch of ${N} / batch of 1`,
          ['batch', median(stepRate.batch), ' tok/s'],
          ['single', median(stepRate.seq), ' tok/s'],
        ),
      ];
    } finally {
      await close();
      await vision.release();
    }
  },
};

const fusedVsPlain: Section = {
  name: '(b) fused decoder (GroupQueryAttention + SimplifiedLayerNorm) vs plain-op decoder, same weights',
  async run(ctx) {
    const plainDir = join(ctx.root, 'onnx-plain');
    await convertCheckpoint({ checkpoint: ctx.checkpointDir, out: plainDir, dtype: 'fp32', decoderAttention: 'plain' });
    const m = readManifest(ctx.modelDir);
    const fused = await ort.InferenceSession.create(join(ctx.modelDir, 'decoder.onnx'), sessionOptions(ctx));
    const plain = await ort.InferenceSession.create(join(plainDir, 'decoder.onnx'), sessionOptions(ctx));
    try {
      const startLength = 1024 + 105;
      const steps = 16;
      const d = await abMedians(
        ROUNDS,
        () => bareChainTokensPerSecond(fused, m, { startLength, steps, binding: 'inplace' }),
        () => plainChainTokensPerSecond(plain, m, { startLength, steps }),
      );
      const p = await abMedians(
        Math.max(3, ROUNDS - 2),
        () => prefillMs(fused, m, startLength, 'gqa'),
        () => prefillMs(plain, m, startLength, 'plain'),
      );
      return [
        `decode at context ${startLength}, ${steps} steps per chain; prefill of ${startLength} positions`,
        line('decode: fused / plain', ['fused', d.a, ' tok/s'], ['plain', d.b, ' tok/s']),
        line('prefill: fused / plain (lower is better)', ['fused', p.a, 'ms'], ['plain', p.b, 'ms']),
      ];
    } finally {
      await fused.release();
      await plain.release();
    }
  },
};

const LOOP_KS = (process.env.BENCH_LOOP_KS ?? '4,8,16,32').split(',').map(Number);
const LOOP_TOKENS = Number(process.env.BENCH_LOOP_TOKENS ?? 48);

const inGraphLoop: Section = {
  name: 'in-graph decode loop (K tokens per run, sampling in the graph) vs JS step loop, engine decode',
  async run(ctx) {
    const base = { device: 'cpu', intraOpNumThreads: ctx.threads } as const;
    const step = await YiVlEngine.load(ctx.modelDir, { ...base, decode: 'step' });
    const loops = new Map<number, YiVlEngine>();
    for (const K of LOOP_KS)
      loops.set(K, await YiVlEngine.load(ctx.modelDir, { ...base, decode: 'loop', loopSteps: K }));
    try {
      const ask = (i: number, params: EngineInput['params']): EngineInput => ({
        rgb: testImageRgb(60 + i),
        question: ['Describe the image.', 'What colour dominates?', 'Is there text?', 'Count the shapes.'][i % 4]!,
        params: { maxNewTokens: LOOP_TOKENS, ...params },
      });
      const GREEDY = { temperature: 0 };
      const API = { temperature: 0.2, topK: 50, topP: 0.8, seed: 3 }; // the API's defaults, seeded
      const workloads: { name: string; inputs: EngineInput[] }[] = [
        { name: 'greedy, 1 answer', inputs: [ask(0, GREEDY)] },
        { name: 'API defaults (T 0.2, top-k 50, top-p 0.8), 1 answer', inputs: [ask(1, API)] },
        {
          name: `batch of 4, mixed (${SAMPLER_MIXES[0]!.name})`,
          inputs: [
            ask(0, GREEDY),
            ask(1, API),
            ask(2, { temperature: 1, topK: 50, topP: 0.9, repetitionPenalty: 1.2, seed: 5 }),
            ask(3, { temperature: 0.7, topK: 200, topP: 1, seed: 7 }),
          ],
        },
      ];
      const engines: [string, YiVlEngine][] = [
        ['step', step],
        ...[...loops].map(([K, e]): [string, YiVlEngine] => [`K=${K}`, e]),
      ];
      // decode tok/s: generated tokens after the first / (wall time − every row's embed + prefill + first choice)
      const decodeRate = async (e: YiVlEngine, inputs: EngineInput[]) => {
        const t = performance.now();
        const rs = await e.analyzeBatch(inputs.map((input) => ({ input })));
        const wall = performance.now() - t;
        let tokens = 0;
        let before = 0;
        const ids: number[][] = [];
        for (const r of rs) {
          if (r.status !== 'fulfilled') throw r.reason;
          tokens += r.value.completion_tokens - 1;
          before += r.value.timings.embed_ms + r.value.timings.first_token_ms;
          ids.push(r.value.output_token_ids);
        }
        return { rate: (tokens * 1000) / (wall - before), ids, tokens };
      };
      const lines: string[] = [
        `${LOOP_TOKENS} new tokens per answer, images cached, ${ROUNDS} rounds (engines in rotating order), medians of decode tok/s`,
      ];
      for (const w of workloads) {
        for (const input of w.inputs) await step.analyze({ ...input, params: { ...input.params, maxNewTokens: 1 } }); // image cache
        const rates = new Map<string, number[]>(engines.map(([n]) => [n, []]));
        let reference: number[][] | undefined;
        let same = true;
        let tokens = 0;
        for (const [, e] of engines) await decodeRate(e, w.inputs); // warm-up
        for (let r = 0; r < ROUNDS; r++) {
          for (let i = 0; i < engines.length; i++) {
            const [name, e] = engines[(i + r) % engines.length]!;
            const m = await decodeRate(e, w.inputs);
            rates.get(name)!.push(m.rate);
            reference ??= m.ids;
            same &&= JSON.stringify(m.ids) === JSON.stringify(reference);
            tokens = m.tokens;
          }
        }
        const stepRate = median(rates.get('step')!);
        lines.push(`${w.name}: ${tokens} decode tokens per run; same tokens on every path: ${same}`);
        for (const [name] of engines.slice(1)) {
          lines.push(
            line(`  loop ${name} / step`, ['loop', median(rates.get(name)!), ' tok/s'], ['step', stepRate, ' tok/s']),
          );
        }
      }
      return lines;
    } finally {
      await step.close();
      for (const e of loops.values()) await e.close();
    }
  },
};

/** The in-graph next-token choice alone (batch of 4, mixed parameters) against the JS choice and a decoder step. */
/** Four rows of each mix: the API-like one, and top-p without top-k (a full sort when the nucleus is wide). */
const SAMPLER_MIXES: { name: string; rows: SamplingParams[] }[] = [
  {
    name: 'greedy; API defaults; T 1 top-k 50 top-p 0.9 penalty 1.2; T 0.7 top-k 200',
    rows: [
      { temperature: 0, topK: 50, topP: 0.8, repetitionPenalty: 1 },
      { temperature: 0.2, topK: 50, topP: 0.8, repetitionPenalty: 1 },
      { temperature: 1, topK: 50, topP: 0.9, repetitionPenalty: 1.2 },
      { temperature: 0.7, topK: 200, topP: 1, repetitionPenalty: 1 },
    ],
  },
  {
    name: 'top-p 0.9 without top-k, T 1, on every row',
    rows: Array.from({ length: 4 }, () => ({ temperature: 1, topK: 0, topP: 0.9, repetitionPenalty: 1 })),
  },
];

const nextTokenCost: Section = {
  name: 'next-token choice per step: in the graph vs JS, against one decoder step (batch of 4)',
  async run(ctx) {
    const m = readManifest(ctx.modelDir);
    const V = m.dims.llm.vocabSize;
    const R = 4;
    const path = join(ctx.root, 'next_token.onnx');
    writeFileSync(path, nextTokenGraph().encode());
    const graph = await ort.InferenceSession.create(path, sessionOptions(ctx));
    const dec = await ort.InferenceSession.create(join(ctx.modelDir, 'decoder.onnx'), sessionOptions(ctx));
    try {
      const timed = async (f: () => unknown) => {
        const t = performance.now();
        for (let i = 0; i < 10; i++) await f();
        return (performance.now() - t) / 10;
      };
      const startLength = 1024 + 105;
      const driver = new DecoderDriver(dec, m.dims.llm.hiddenSize, V);
      const cache = new KvCache(kvLayoutOf(m), R, startLength + 21);
      const embeds = new Float32Array(R * m.dims.llm.hiddenSize).fill(0.01);
      let length = startLength;
      const decoderStep = () => timed(() => driver.run(cache, embeds, 1, Array(R).fill(length++)));
      await decoderStep(); // warm-up (10 steps)
      length = startLength;
      const stepMs = await decoderStep();
      const logits = new Rng(1).normals(R * V, 3);
      const seen = [1, 2, 3, 500, 4000];
      const out = [`vocabulary ${V}; one batch-of-${R} decoder step at context ${startLength}: ${fmt(stepMs)}ms`];
      for (const mix of SAMPLER_MIXES) {
        const rows = mix.rows;
        const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims);
        const f64 = (v: number[]) => new ort.Tensor('float64', Float64Array.from(v), [R]);
        const feeds = {
          logits: new ort.Tensor('float32', logits, [R, V]),
          seen_ids: i64(
            rows.flatMap(() => seen),
            [R, seen.length],
          ),
          vocab_size: i64([V], []),
          uniforms: f64([0.1, 0.4, 0.6, 0.9]),
          temperature: f64(rows.map((r) => r.temperature)),
          top_k: i64(
            rows.map((r) => r.topK),
            [R],
          ),
          top_p: f64(rows.map((r) => r.topP)),
          repetition_penalty: f64(rows.map((r) => r.repetitionPenalty)),
        };
        const inGraph = () => timed(() => graph.run(feeds));
        const js = () =>
          timed(() =>
            rows.map((p, b) => {
              const row = logits.slice(b * V, (b + 1) * V);
              applyProcessors(buildLogitsProcessors(p, p.temperature > 0), seen, row);
              return p.temperature > 0 ? drawFrom(row, 0.5) : argmax(row);
            }),
          );
        const c = await abMedians(ROUNDS, inGraph, js);
        out.push(
          `${mix.name}:`,
          line('  next-token choice: graph / JS', ['graph', c.a, 'ms'], ['js', c.b, 'ms']),
          `     per decoder step: graph ${fmt(c.a / stepMs, 3)}, JS ${fmt(c.b / stepMs, 3)}`,
        );
      }
      return out;
    } finally {
      await graph.release();
      await dec.release();
    }
  },
};

const WEBGPU_STEPS = Number(process.env.BENCH_WEBGPU_STEPS ?? 8);

const webgpuKv: Section = {
  name: 'WebGPU EP: present KV kept in GPU buffers vs returned to JS each step; vs the CPU EP chain',
  async run(ctx) {
    const software = useSoftwareVulkanIfNoDriver();
    if (software && process.env.BENCH_WEBGPU !== 'software') {
      // SwiftShader runs this section at ~0.1–0.2 tok/s on the small preset (≈8 min): opt in explicitly.
      return ['skipped: only a software Vulkan driver (SwiftShader) here; BENCH_WEBGPU=software runs it anyway'];
    }
    const m = readManifest(ctx.modelDir);
    let device: ort.InferenceSession;
    let host: ort.InferenceSession;
    try {
      device = await webgpuDecoder(ctx.modelDir, m, 'device');
      host = await webgpuDecoder(ctx.modelDir, m, 'host');
    } catch (err) {
      return [`skipped: no WebGPU adapter (${(err as Error).message.split('\n')[0]})`];
    }
    const cpu = await ort.InferenceSession.create(join(ctx.modelDir, 'decoder.onnx'), sessionOptions(ctx));
    try {
      const startLength = 1024 + 105;
      const steps = WEBGPU_STEPS;
      const rounds = Math.max(3, Math.min(ROUNDS, 5));
      const onDevice = () => deviceKvTokensPerSecond(device, m, { startLength, steps });
      const viaJs = () => bareChainTokensPerSecond(host, m, { startLength, steps, binding: 'copy' });
      const kv = await abMedians(rounds, onDevice, viaJs);
      const cpuChain = await abMedians(rounds, onDevice, () =>
        bareChainTokensPerSecond(cpu, m, { startLength, steps, binding: 'inplace' }),
      );
      return [
        `context ${startLength}, ${steps} steps per round, ${rounds} rounds; Vulkan: ${software ? 'SwiftShader (software, CPU) — absolute WebGPU figures here are not GPU figures' : 'the system driver'}`,
        line('WebGPU: KV in GPU buffers / KV through JS', ['device', kv.a, ' tok/s'], ['via JS', kv.b, ' tok/s']),
        line(
          'WebGPU KV in GPU buffers / CPU EP chain',
          ['webgpu', cpuChain.a, ' tok/s'],
          ['cpu', cpuChain.b, ' tok/s'],
        ),
      ];
    } finally {
      await Promise.all([device.release(), host.release(), cpu.release()]);
    }
  },
};

export const SECTIONS: Section[] = [
  decodeOverhead,
  inGraphLoop,
  nextTokenCost,
  webgpuKv,
  fusedVsPlain,
  ttft,
  imageCache,
  batching,
];
