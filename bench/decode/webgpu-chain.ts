// Device-resident KV section of the decode benchmark: one-token steps on the WebGPU EP with the KV cache either kept in device
// buffers between steps (what the engine does with YI_VL_DEVICE=webgpu) or returned to JavaScript and fed back
// (what any EP does when its outputs come back as CPU tensors). Both run the same decoder.onnx at the same context.
import { join } from 'node:path';
import ort from '../../gpu-worker/onnx/runtime.ts';
import { DecoderDriver } from '../../gpu-worker/yi-vl/pipeline/decoder-driver.ts';
import { KvCache, kvLayoutOf } from '../../gpu-worker/yi-vl/pipeline/kv-cache.ts';
import type { ModelManifest } from '../../gpu-worker/yi-vl/pipeline/manifest.ts';
import { decoderOutputLocations } from '../../gpu-worker/yi-vl/pipeline/sessions.ts';

/** Decoder sessions on the WebGPU EP: present.* in GPU buffers ('device') or on the CPU ('host'). */
export async function webgpuDecoder(modelDir: string, m: ModelManifest, kv: 'device' | 'host') {
  return ort.InferenceSession.create(join(modelDir, m.graphs.decoder.file), {
    executionProviders: ['webgpu'],
    preferredOutputLocation: decoderOutputLocations(m, kv === 'device'),
  });
}

/** tokens/s of `steps` one-token calls after a first call at `startLength` (which uploads the cache). */
export async function deviceKvTokensPerSecond(
  session: ort.InferenceSession,
  m: ModelManifest,
  o: { startLength: number; steps: number },
): Promise<number> {
  const { hiddenSize: H, vocabSize } = m.dims.llm;
  const driver = new DecoderDriver(session, H, vocabSize, true);
  const cache = new KvCache(kvLayoutOf(m), 1, o.startLength + o.steps + 2);
  const embeds = new Float32Array(H).fill(0.01);
  try {
    await driver.run(cache, embeds, 1, [o.startLength]);
    const t0 = performance.now();
    for (let s = 1; s <= o.steps; s++) await driver.run(cache, embeds, 1, [o.startLength + s]);
    return (o.steps * 1000) / (performance.now() - t0);
  } finally {
    cache.releaseDevice();
  }
}
