// Moves a device-resident KV cache back to the host. onnxruntime-node 1.30 cannot download a `gpu-buffer` tensor
// from JavaScript (Tensor.getData() aborts the process), so the copy is done by onnxruntime itself: a graph of
// Identity nodes on the same WebGPU EP whose outputs are requested on the CPU. Used only when rows join or leave a
// decoding batch; single-stream decode never comes back to the host.

import { Graph } from '../../onnx/graph.ts';
import ort from '../../onnx/runtime.ts';
import type { KvArray, KvHostCopier, KvLayout } from './kv-cache.ts';

export function kvIdentityGraph(layout: KvLayout): Uint8Array {
  const g = new Graph('kv_download', null);
  const dtype = layout.fp16 ? 'float16' : 'float32';
  const shape = ['batch', layout.numKvHeads, 'max_length', layout.headDim];
  for (let i = 0; i < 2 * layout.numLayers; i++) {
    g.input(`kv_${i}`, dtype, shape);
    g.node('Identity', [`kv_${i}`], {}, { outputs: [`host_${i}`] });
    g.output(`host_${i}`, dtype, shape);
  }
  return g.encode({}, 'kv-downloader');
}

export class KvDownloader implements KvHostCopier {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(
    layout: KvLayout,
    executionProviders: ort.InferenceSession.SessionOptions['executionProviders'],
  ): Promise<KvDownloader> {
    const session = await ort.InferenceSession.create(kvIdentityGraph(layout), {
      executionProviders,
      preferredOutputLocation: 'cpu',
    });
    return new KvDownloader(session);
  }

  /** Host copies of the given device tensors, in order. */
  async download(tensors: readonly ort.Tensor[]): Promise<KvArray[]> {
    const feeds: Record<string, ort.Tensor> = {};
    tensors.forEach((t, i) => {
      feeds[`kv_${i}`] = t;
    });
    const out = await this.session.run(feeds);
    return tensors.map((_, i) => out[`host_${i}`]!.data as KvArray);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
