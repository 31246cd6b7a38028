// Reference Llama decoder (HF LlamaForCausalLM semantics, spec §5.2) in float64, with an optional KV cache.

import { f64, linear, rmsNorm, silu, softmaxInPlace } from './math.ts';
import type { ReferenceModel } from './model.ts';

export interface KvCache {
  /** per layer: post-RoPE keys and values, one row [kv_heads·head_dim] per past position */
  keys: Float64Array[][];
  values: Float64Array[][];
  length: number;
}

export interface ReferenceDecoderOptions {
  /** replaces a weight after loading (tests use it to feed the int4-dequantized weights) */
  weightTransform?: (name: string, w: Float32Array, shape: number[]) => Float32Array;
}

export class ReferenceDecoder {
  private readonly cache = new Map<string, Float64Array>();
  readonly H: number;

  constructor(
    private readonly ckpt: ReferenceModel,
    private readonly opts: ReferenceDecoderOptions = {},
  ) {
    this.H = ckpt.config.llm.hiddenSize;
  }

  private w(name: string): Float64Array {
    let t = this.cache.get(name);
    if (!t) {
      const raw = this.ckpt.main.read(name);
      const shape = this.ckpt.main.info(name).shape;
      t = f64(this.opts.weightTransform ? this.opts.weightTransform(name, raw, shape) : raw);
      this.cache.set(name, t);
    }
    return t;
  }

  newCache(): KvCache {
    const L = this.ckpt.config.llm.numLayers;
    return { keys: Array.from({ length: L }, () => []), values: Array.from({ length: L }, () => []), length: 0 };
  }

  /** Embedding rows for token ids, [S, H]. */
  embed(ids: number[]): Float64Array {
    const E = this.w('model.embed_tokens.weight');
    const out = new Float64Array(ids.length * this.H);
    ids.forEach((id, s) => {
      out.set(E.subarray(id * this.H, (id + 1) * this.H), s * this.H);
    });
    return out;
  }

  /**
   * Runs S new positions (embeddings [S, H]) after the cached ones and returns the logits of the last position.
   * Without a cache the sequence starts at position 0.
   */
  forward(x0: Float64Array, cache: KvCache = this.newCache()): Float64Array {
    const {
      hiddenSize: H,
      numHeads,
      numKvHeads,
      headDim: d,
      intermediateSize: I,
      rmsNormEps: eps,
      ropeTheta,
    } = this.ckpt.config.llm;
    const S = x0.length / H;
    const past = cache.length;
    const kvd = numKvHeads * d;
    const group = numHeads / numKvHeads;
    const half = d / 2;
    const rope = (vec: Float64Array, off: number, pos: number) => {
      for (let i = 0; i < half; i++) {
        const angle = pos * ropeTheta ** ((-2 * i) / d);
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const a = vec[off + i]!;
        const b = vec[off + i + half]!;
        vec[off + i] = a * c - b * s;
        vec[off + i + half] = b * c + a * s;
      }
    };
    const x = Float64Array.from(x0);
    for (let l = 0; l < this.ckpt.config.llm.numLayers; l++) {
      const p = (n: string) => this.w(`model.layers.${l}.${n}`);
      const h = rmsNorm(x, S, H, p('input_layernorm.weight'), eps);
      const q = linear(h, S, H, p('self_attn.q_proj.weight'), H);
      const k = linear(h, S, H, p('self_attn.k_proj.weight'), kvd);
      const v = linear(h, S, H, p('self_attn.v_proj.weight'), kvd);
      for (let s = 0; s < S; s++) {
        for (let hd = 0; hd < numHeads; hd++) rope(q, s * H + hd * d, past + s);
        for (let hd = 0; hd < numKvHeads; hd++) rope(k, s * kvd + hd * d, past + s);
        cache.keys[l]!.push(k.slice(s * kvd, (s + 1) * kvd));
        cache.values[l]!.push(v.slice(s * kvd, (s + 1) * kvd));
      }
      const keys = cache.keys[l]!;
      const values = cache.values[l]!;
      const ctx = new Float64Array(S * H);
      const scores = new Float64Array(past + S);
      for (let s = 0; s < S; s++) {
        const n = past + s + 1; // causal: attend to positions 0 … past + s
        for (let hd = 0; hd < numHeads; hd++) {
          const kh = Math.floor(hd / group);
          for (let t = 0; t < n; t++) {
            let acc = 0;
            for (let i = 0; i < d; i++) acc += q[s * H + hd * d + i]! * keys[t]![kh * d + i]!;
            scores[t] = acc / Math.sqrt(d);
          }
          softmaxInPlace(scores, n);
          for (let t = 0; t < n; t++) {
            const pr = scores[t]!;
            for (let i = 0; i < d; i++) ctx[s * H + hd * d + i]! += pr * values[t]![kh * d + i]!;
          }
        }
      }
      const o = linear(ctx, S, H, p('self_attn.o_proj.weight'), H);
      for (let i = 0; i < x.length; i++) x[i]! += o[i]!;
      const m = rmsNorm(x, S, H, p('post_attention_layernorm.weight'), eps);
      const g = linear(m, S, H, p('mlp.gate_proj.weight'), I);
      const u = linear(m, S, H, p('mlp.up_proj.weight'), I);
      for (let i = 0; i < g.length; i++) g[i] = silu(g[i]!) * u[i]!;
      const dn = linear(g, S, I, p('mlp.down_proj.weight'), H);
      for (let i = 0; i < x.length; i++) x[i]! += dn[i]!;
    }
    cache.length = past + S;
    const last = rmsNorm(x.subarray((S - 1) * H), 1, H, this.w('model.norm.weight'), eps);
    return linear(last, 1, H, this.w('lm_head.weight'), this.ckpt.config.llm.vocabSize);
  }
}
