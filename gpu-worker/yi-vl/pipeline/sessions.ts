// Creates the three onnxruntime sessions on the chosen execution provider, and proves where they run: a CUDA
// session is first created with CPU fallback disabled, so a missing CUDA library or nodes the CUDA EP cannot take
// surface here, at start-up, instead of as a silently slow worker. `webgpu` (asked for explicitly, never chosen by
// `auto`) runs the graphs on onnxruntime's bundled WebGPU EP and keeps the decoder's present.* KV outputs in GPU
// buffers (docs/performance.md, "KV kept on the device"); it needs a Vulkan driver (a GPU's, or SwiftShader on a CPU).
import { join } from 'node:path';
import ort from '../../onnx/runtime.ts';
import { assertCudaProviderMatches } from './cuda-provider-check.ts';
import type { ModelManifest } from './manifest.ts';

export type DeviceRequest = 'auto' | 'cuda' | 'cpu' | 'webgpu';
export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', 'cuda', 'cpu', 'webgpu'];

export interface ProviderReport {
  requested: DeviceRequest;
  /** where the sessions actually run */
  provider: 'cuda' | 'cpu' | 'webgpu';
  /** CUDA was wanted but the sessions run on the CPU EP; the reason says why */
  cpuFallback: boolean;
  /** CUDA sessions exist but onnxruntime put some nodes on the CPU */
  partialCpuNodes: boolean;
  warnings: string[];
}

export interface ModelSessions {
  vision: ort.InferenceSession;
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
  report: ProviderReport;
  release(): Promise<void>;
}

export class DeviceError extends Error {
  override name = 'DeviceError';
}

export interface SessionOptions {
  device?: DeviceRequest;
  deviceId?: number;
  intraOpNumThreads?: number;
}

const FALLBACK_DISABLED = /fallback to CPU EP has been explicitly disabled/i;

/** Where the decoder's outputs should land: present.* in GPU buffers for device-resident KV, the rest on the CPU. */
export function decoderOutputLocations(m: ModelManifest, kvOnDevice: boolean): Record<string, 'cpu' | 'gpu-buffer'> {
  return Object.fromEntries(
    m.graphs.decoder.outputs.map((o) => [o.name, kvOnDevice && o.name.startsWith('present.') ? 'gpu-buffer' : 'cpu']),
  );
}

export async function createSessions(dir: string, m: ModelManifest, o: SessionOptions = {}): Promise<ModelSessions> {
  const requested = o.device ?? 'auto';
  const warnings: string[] = [];
  const paths = {
    vision: join(dir, m.graphs.vision.file),
    embed: join(dir, m.graphs.embedTokens.file),
    decoder: join(dir, m.graphs.decoder.file),
  };
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(o.intraOpNumThreads ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
  };
  const cpu: ort.InferenceSession.SessionOptions = { ...base, executionProviders: ['cpu'] };
  const cudaEp = { name: 'cuda', deviceId: o.deviceId ?? 0 } as const;
  /** The three sessions with `opts` (plus `decoderExtra` for the decoder); none is left open if one fails. */
  const all = async (
    opts: ort.InferenceSession.SessionOptions,
    decoderExtra: ort.InferenceSession.SessionOptions = {},
  ) => {
    const created: ort.InferenceSession[] = [];
    try {
      created.push(await ort.InferenceSession.create(paths.vision, opts));
      created.push(await ort.InferenceSession.create(paths.embed, opts));
      created.push(await ort.InferenceSession.create(paths.decoder, { ...opts, ...decoderExtra }));
    } catch (err) {
      await Promise.all(created.map((s) => s.release()));
      throw err;
    }
    const [vision, embed, decoder] = created as [ort.InferenceSession, ort.InferenceSession, ort.InferenceSession];
    return { vision, embed, decoder };
  };

  let sessions: { vision: ort.InferenceSession; embed: ort.InferenceSession; decoder: ort.InferenceSession };
  let provider: ProviderReport['provider'] = 'cpu';
  let cpuFallback = false;
  let partialCpuNodes = false;
  if (requested === 'cpu') {
    sessions = await all(cpu);
  } else if (requested === 'webgpu') {
    try {
      sessions = await all(
        { ...base, executionProviders: ['webgpu'] },
        { preferredOutputLocation: decoderOutputLocations(m, true) },
      );
    } catch (err) {
      throw new DeviceError(`WebGPU execution provider requested but unavailable: ${(err as Error).message}`);
    }
    provider = 'webgpu';
  } else {
    // A CUDA provider from another onnxruntime version is refused before onnxruntime tries to load it.
    const providerCheck = assertCudaProviderMatches();
    if (providerCheck.status === 'unknown') warnings.push(providerCheck.message!);
    try {
      sessions = await all({
        ...base,
        executionProviders: [cudaEp],
        extra: { session: { disable_cpu_ep_fallback: '1' } },
      });
      provider = 'cuda';
    } catch (err) {
      const msg = (err as Error).message;
      if (FALLBACK_DISABLED.test(msg)) {
        // The CUDA EP loaded but left some nodes to the CPU: allowed, but said.
        sessions = await all({ ...base, executionProviders: [cudaEp, 'cpu'] });
        provider = 'cuda';
        partialCpuNodes = true;
        warnings.push('CUDA EP is active but onnxruntime assigned some graph nodes to the CPU EP');
      } else if (requested === 'cuda') {
        throw new DeviceError(`CUDA execution provider requested but unavailable: ${msg}`);
      } else {
        sessions = await all(cpu);
        cpuFallback = true;
        warnings.push(`CUDA execution provider unavailable, running on CPU: ${msg.split('\n')[0]}`);
      }
    }
  }
  if (provider === 'cuda' && m.computeDtype !== 'float16') {
    warnings.push(`running a ${m.dtype} model on CUDA; convert with --dtype fp16 for the GPU`);
  }
  if (provider === 'cpu' && m.computeDtype === 'float16') {
    warnings.push('running an fp16 model on the CPU EP is slow; convert with --dtype fp32 or int4 for CPU');
  }
  const report: ProviderReport = { requested, provider, cpuFallback, partialCpuNodes, warnings };
  return {
    ...sessions,
    report,
    release: async () => {
      await Promise.all([sessions.vision.release(), sessions.embed.release(), sessions.decoder.release()]);
    },
  };
}

/**
 * The in-graph decode loop's session (`decoder_loop.onnx`) on the EP the other sessions run on; on CUDA the CPU EP
 * takes what CUDA leaves (shape arithmetic), and the KV crosses to the device and back once per run. Throws when
 * the graph does not load.
 */
export async function createLoopSession(
  dir: string,
  m: ModelManifest,
  provider: 'cuda' | 'cpu',
  o: SessionOptions = {},
): Promise<ort.InferenceSession> {
  const file = m.graphs.decoderLoop?.file;
  if (!file) throw new Error(`${dir} has no in-graph decode loop (decoder_loop.onnx)`);
  return ort.InferenceSession.create(join(dir, file), {
    graphOptimizationLevel: 'all',
    ...(o.intraOpNumThreads ? { intraOpNumThreads: o.intraOpNumThreads } : {}),
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: o.deviceId ?? 0 }, 'cpu'] : ['cpu'],
  });
}
