// One decoder.onnx call over a KvCache: `S` new positions for every row of the batch, logits of each row's last new
// position. The attention mask encodes each row's own length (right-padded with zeros when rows differ), from
// which the graph derives GQA's per-row seqlens_k (docs/model-format.md). With `kvOnDevice` (the WebGPU EP) the
// present.* outputs are left unbound so they stay in device buffers, and the cache adopts them as its next past.
import ort from '../../onnx/runtime.ts';
import type { KvCache } from './kv-cache.ts';

export class DecoderDriver {
  private ones = new BigInt64Array(0);
  private logits: { batch: number; tensor: ort.Tensor } | undefined;
  /** cumulative one-position calls and the milliseconds spent inside their session.run (for the bench) */
  readonly stepStats = { calls: 0, ms: 0 };

  /** present.* outputs requested without a pre-bound tensor (device mode) */
  private readonly presentOnDevice: Record<string, null>;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly hiddenSize: number,
    readonly vocabSize: number,
    readonly kvOnDevice = false,
  ) {
    this.presentOnDevice = Object.fromEntries(
      session.outputNames.filter((n) => n.startsWith('present.')).map((n) => [n, null]),
    );
  }

  /**
   * Appends `seqLen` positions per row. `lengths[b]` is row b's cache length before the call (its KV rows
   * [0, lengths[b]) are valid); batch > 1 needs seqLen 1 (GQA). Returns [batch · vocab] float32 logits in a
   * buffer that the next call overwrites.
   */
  async run(cache: KvCache, embeds: Float32Array, seqLen: number, lengths: readonly number[]): Promise<Float32Array> {
    const B = cache.batch;
    if (lengths.length !== B) throw new Error(`${lengths.length} lengths for a batch of ${B}`);
    if (B > 1 && seqLen !== 1) throw new Error('a batch of several rows decodes one position at a time');
    const totals = lengths.map((l) => l + seqLen);
    const T = Math.max(...totals);
    if (T > cache.maxLength) throw new Error(`${T} positions exceed the KV buffer of ${cache.maxLength}`);
    let mask: BigInt64Array;
    if (totals.every((t) => t === T)) {
      if (this.ones.length < B * T) this.ones = new BigInt64Array(Math.max(B * T, 2 * this.ones.length)).fill(1n);
      mask = this.ones.subarray(0, B * T);
    } else {
      mask = new BigInt64Array(B * T);
      totals.forEach((t, b) => {
        mask.fill(1n, b * T, b * T + t);
      });
    }
    if (!this.kvOnDevice && this.logits?.batch !== B) {
      this.logits = {
        batch: B,
        tensor: new ort.Tensor('float32', new Float32Array(B * this.vocabSize), [B, 1, this.vocabSize]),
      };
    }
    const { feeds, fetches } = cache.bindings();
    const t = performance.now();
    const out = await this.session.run(
      {
        inputs_embeds: new ort.Tensor('float32', embeds, [B, seqLen, this.hiddenSize]),
        attention_mask: new ort.Tensor('int64', mask, [B, T]),
        ...feeds,
      },
      // A pre-bound CPU logits tensor is left unwritten by the WebGPU EP in onnxruntime-node 1.30: let it allocate.
      this.kvOnDevice ? { logits: null, ...this.presentOnDevice } : { logits: this.logits!.tensor, ...fetches },
    );
    if (this.kvOnDevice) cache.adoptDeviceOutputs(out);
    if (seqLen === 1) {
      this.stepStats.calls++;
      this.stepStats.ms += performance.now() - t;
    }
    return (this.kvOnDevice ? out.logits! : this.logits!.tensor).data as Float32Array;
  }
}
