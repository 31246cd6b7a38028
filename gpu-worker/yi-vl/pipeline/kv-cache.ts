// The decoder's KV cache as JS-owned buffers of the shared max-length GQA layout [batch, kv_heads, max_length,
// head_dim]. The same memory is passed as `past_key_values.*` and pre-bound as the `present.*` outputs, so
// onnxruntime writes the new rows in place: no per-step allocation and no copy of the whole cache through JS
// (measured in bench/decode-overhead.ts). Copies happen only when rows join or leave a batch.
//
// On the WebGPU EP (docs/performance.md, "KV kept on the device") the cache can instead be *resident*: the decoder's present.*
// outputs stay in GPU buffers and become the next step's past, and the host arrays are stale until `toHost()`.
// The batch-reshaping operations below work on host arrays only and refuse a resident cache.
import ort from '../../onnx/runtime.ts';
import type { ModelManifest } from './manifest.ts';

export interface KvLayout {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  fp16: boolean;
}

export type KvArray = Float32Array | Uint16Array;

/** A device → host copy of KV tensors, in order (`KvDownloader` on the WebGPU EP). */
export interface KvHostCopier {
  download(tensors: readonly ort.Tensor[]): Promise<KvArray[]>;
}

/** The KV layout of a converted model's decoder. */
export function kvLayoutOf(m: ModelManifest): KvLayout {
  const { numLayers, numKvHeads, headDim } = m.dims.llm;
  return { numLayers, numKvHeads, headDim, fp16: m.computeDtype === 'float16' };
}

export class KvCache {
  /** one array per graph input: layer l key at 2l, value at 2l + 1 */
  readonly arrays: KvArray[];
  private bound: { feeds: Record<string, ort.Tensor>; fetches: Record<string, ort.Tensor> } | undefined;
  /** device tensors holding the cache (same order as `arrays`) while it is resident; null when the host is current */
  private resident: ort.Tensor[] | null = null;

  constructor(
    readonly layout: KvLayout,
    readonly batch: number,
    readonly maxLength: number,
    arrays?: KvArray[],
  ) {
    const n = batch * this.rowSize;
    this.arrays =
      arrays ??
      Array.from({ length: 2 * layout.numLayers }, () => (layout.fp16 ? new Uint16Array(n) : new Float32Array(n)));
    if (this.arrays.length !== 2 * layout.numLayers || this.arrays.some((a) => a.length !== n)) {
      throw new Error(`KV arrays do not match [${batch}, ${layout.numKvHeads}, ${maxLength}, ${layout.headDim}]`);
    }
  }

  /** values per batch row in one array */
  get rowSize(): number {
    return this.layout.numKvHeads * this.maxLength * this.layout.headDim;
  }

  /** whether the current contents live in device buffers (the host arrays are stale) */
  get onDevice(): boolean {
    return this.resident !== null;
  }

  /**
   * `past_key_values.*` feeds and `present.*` fetches over the same memory (GQA updates it in place). A resident
   * cache feeds its device tensors and has no pre-bound fetches: the EP allocates the next present.* on the device.
   */
  bindings(): { feeds: Record<string, ort.Tensor>; fetches: Record<string, ort.Tensor> } {
    if (this.resident) {
      const feeds: Record<string, ort.Tensor> = {};
      this.resident.forEach((t, i) => {
        feeds[pastName(i)] = t;
      });
      return { feeds, fetches: {} };
    }
    if (this.bound) return this.bound;
    const { numKvHeads, headDim, fp16 } = this.layout;
    const shape = [this.batch, numKvHeads, this.maxLength, headDim];
    const feeds: Record<string, ort.Tensor> = {};
    const fetches: Record<string, ort.Tensor> = {};
    this.arrays.forEach((a, i) => {
      const t = fp16 ? new ort.Tensor('float16', a as Uint16Array, shape) : new ort.Tensor('float32', a, shape);
      feeds[pastName(i)] = t;
      fetches[presentName(i)] = t;
    });
    this.bound = { feeds, fetches };
    return this.bound;
  }

  /** Takes a decoder run's `present.*` device outputs as the cache's contents, releasing the previous ones. */
  adoptDeviceOutputs(outputs: Record<string, ort.Tensor>): void {
    const next = this.arrays.map((_, i) => {
      const t = outputs[presentName(i)];
      if (!t) throw new Error(`decoder returned no ${presentName(i)}`);
      return t;
    });
    this.releaseDevice();
    this.resident = next;
  }

  /** Brings a resident cache's contents back into the host arrays (one device→host copy) and frees the device copy. */
  async toHost(downloader: KvHostCopier): Promise<void> {
    if (!this.resident) return;
    const data = await downloader.download(this.resident);
    data.forEach((d, i) => {
      this.arrays[i]!.set(d);
    });
    this.releaseDevice();
  }

  /** Frees the device buffers of a resident cache (the host arrays keep whatever they held). */
  releaseDevice(): void {
    for (const t of this.resident ?? []) t.dispose();
    this.resident = null;
  }

  private assertHost(): void {
    if (this.resident) throw new Error('the KV cache is on the device: call toHost() before reshaping it');
  }

  /** A cache whose rows are copies of the given batch-1 caches (all of this max length). */
  static stack(rows: readonly KvCache[]): KvCache {
    const first = rows[0];
    if (!first) throw new Error('stack needs at least one row');
    for (const r of rows) r.assertHost();
    const out = new KvCache(first.layout, rows.length, first.maxLength);
    rows.forEach((r, b) => {
      if (r.batch !== 1 || r.maxLength !== first.maxLength) throw new Error('stack needs batch-1 caches of one length');
      for (let i = 0; i < out.arrays.length; i++) out.arrays[i]!.set(r.arrays[i]!, b * out.rowSize);
    });
    return out;
  }

  /** Rows of several caches of one max length, one after the other, in a new cache. */
  static concat(parts: readonly KvCache[]): KvCache {
    const first = parts[0];
    if (!first) throw new Error('concat needs at least one cache');
    for (const p of parts) p.assertHost();
    if (parts.some((p) => p.maxLength !== first.maxLength)) throw new Error('concat needs caches of one max length');
    const out = new KvCache(
      first.layout,
      parts.reduce((n, p) => n + p.batch, 0),
      first.maxLength,
    );
    let at = 0;
    for (const p of parts) {
      for (let i = 0; i < out.arrays.length; i++) out.arrays[i]!.set(p.arrays[i]!, at);
      at += p.batch * p.rowSize;
    }
    return out;
  }

  /** A copy with a longer max length (every row's positions kept, the new ones zero). */
  resized(maxLength: number): KvCache {
    if (maxLength < this.maxLength) throw new Error('a KV cache can only grow');
    this.assertHost();
    const out = new KvCache(this.layout, this.batch, maxLength);
    const d = this.layout.headDim;
    const blocks = this.batch * this.layout.numKvHeads;
    for (let i = 0; i < out.arrays.length; i++) {
      for (let b = 0; b < blocks; b++) {
        out.arrays[i]!.set(
          this.arrays[i]!.subarray(b * this.maxLength * d, (b + 1) * this.maxLength * d),
          b * maxLength * d,
        );
      }
    }
    return out;
  }

  /** A copy holding only the given rows, in that order. */
  select(rows: readonly number[]): KvCache {
    this.assertHost();
    const out = new KvCache(this.layout, rows.length, this.maxLength);
    const n = this.rowSize;
    rows.forEach((r, b) => {
      for (let i = 0; i < out.arrays.length; i++)
        out.arrays[i]!.set(this.arrays[i]!.subarray(r * n, (r + 1) * n), b * n);
    });
    return out;
  }

  /** A fresh batch-1 cache of `maxLength` positions whose first `length` positions are copied from row 0 of `src`. */
  static withPrefix(src: KvCache, length: number, maxLength: number): KvCache {
    if (length > src.maxLength || length > maxLength) throw new Error(`prefix of ${length} positions does not fit`);
    src.assertHost();
    const out = new KvCache(src.layout, 1, maxLength);
    const d = src.layout.headDim;
    for (let i = 0; i < out.arrays.length; i++) {
      const from = src.arrays[i]!;
      const to = out.arrays[i]!;
      for (let h = 0; h < src.layout.numKvHeads; h++) {
        const s = h * src.maxLength * d;
        to.set(from.subarray(s, s + length * d), h * maxLength * d);
      }
    }
    return out;
  }
}

const pastName = (i: number) => `past_key_values.${i >> 1}.${i & 1 ? 'value' : 'key'}`;
const presentName = (i: number) => `present.${i >> 1}.${i & 1 ? 'value' : 'key'}`;
