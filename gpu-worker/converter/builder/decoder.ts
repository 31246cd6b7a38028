// decoder.onnx: the Llama-style LLM as onnxruntime-genai lays it out — packed QKV → GroupQueryAttention (fused
// rotary embedding, one shared max-length KV buffer updated in place) → o_proj, packed gate|up SiLU MLP,
// (Skip)SimplifiedLayerNormalization RMSNorms — from float32 `inputs_embeds` to float32 logits at the last position.
// The decoder variants (plain-decoder.ts, loop-decoder.ts) extend this class and reuse its parts.
import { type Dim, type Graph, int } from '../../onnx/graph.ts';
import { llmNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import { type BuiltGraph, concatRows, GraphBuilder, TO_END } from './base.ts';

/** Per-run tensors every GroupQueryAttention node takes. */
export interface GqaContext {
  /** int32 [batch]: valid past + new positions − 1 per row */
  seqlensK: string;
  /** int32 scalar: the total sequence length */
  totalLen: string;
  cos: string;
  sin: string;
}

export class DecoderGraphBuilder extends GraphBuilder {
  protected get llm() {
    return this.ckpt.config.llm;
  }

  /** Q, K and V projections of layer i fused into one Linear (rows q | k | v), as onnxruntime-genai lays them out. */
  protected makeQkvProjection(g: Graph, x: string, i: number): string {
    const { hiddenSize: H, numKvHeads, headDim } = this.llm;
    const m = this.ckpt.main;
    const p = `${llmNames.layer(i)}.self_attn`;
    const kvd = numKvHeads * headDim;
    const wqkv = concatRows([
      m.read(`${p}.q_proj.weight`, [H, H]),
      m.read(`${p}.k_proj.weight`, [kvd, H]),
      m.read(`${p}.v_proj.weight`, [kvd, H]),
    ]);
    return this.makeLinear(g, x, `layers.${i}.attn.qkv`, wqkv, H + 2 * kvd, H, { quantize: true });
  }

  protected makeOutProjection(g: Graph, x: string, i: number): string {
    const H = this.llm.hiddenSize;
    const w = this.ckpt.main.read(`${llmNames.layer(i)}.self_attn.o_proj.weight`, [H, H]);
    return this.makeLinear(g, x, `layers.${i}.attn.o_proj`, w, H, H, { quantize: true });
  }

  /**
   * Packed QKV projection → GroupQueryAttention (fused RoPE, shared KV buffer) → o_proj. Declares layer i's
   * `past_key_values.i.*` inputs and `present.i.*` outputs [batch, kv_heads, max_length, head_dim].
   */
  makeAttention(g: Graph, x: string, i: number, ctx: GqaContext): string {
    const { numHeads, numKvHeads, headDim } = this.llm;
    const qkv = this.makeQkvProjection(g, x, i);
    const shape: Dim[] = ['batch', numKvHeads, 'max_length', headDim];
    const pastKey = g.input(`past_key_values.${i}.key`, this.compute, shape);
    const pastValue = g.input(`past_key_values.${i}.value`, this.compute, shape);
    const [attn] = g.node(
      'GroupQueryAttention',
      [qkv, '', '', pastKey, pastValue, ctx.seqlensK, ctx.totalLen, ctx.cos, ctx.sin],
      {
        num_heads: int(numHeads),
        kv_num_heads: int(numKvHeads),
        do_rotary: int(1),
        rotary_interleaved: int(0),
        local_window_size: int(-1),
      },
      {
        domain: 'com.microsoft',
        name: `layers.${i}.attn/GQA`,
        outputs: [`layers.${i}.attn/out`, `present.${i}.key`, `present.${i}.value`],
      },
    );
    g.output(`present.${i}.key`, this.compute, shape);
    g.output(`present.${i}.value`, this.compute, shape);
    return this.makeOutProjection(g, attn!, i);
  }

  /** down(silu(gate(x)) · up(x)) with gate and up packed into one projection. */
  makeMlp(g: Graph, x: string, i: number): string {
    const { hiddenSize: H, intermediateSize: I } = this.llm;
    const m = this.ckpt.main;
    const p = `${llmNames.layer(i)}.mlp`;
    const wgu = concatRows([m.read(`${p}.gate_proj.weight`, [I, H]), m.read(`${p}.up_proj.weight`, [I, H])]);
    const gu = this.makeLinear(g, x, `layers.${i}.mlp.gate_up`, wgu, 2 * I, H, { quantize: true });
    const [gate, up] = g.node(
      'Split',
      [gu, g.constInt64([I, I])],
      { axis: int(-1) },
      { outputs: 2, name: `layers.${i}.mlp/split` },
    );
    const act = g.op('Mul', [gate!, g.op('Sigmoid', [gate!])], {}, { name: `layers.${i}.mlp/silu` });
    const prod = g.op('Mul', [act, up!]);
    return this.makeLinear(g, prod, `layers.${i}.mlp.down`, m.read(`${p}.down_proj.weight`, [H, I]), H, I, {
      quantize: true,
    });
  }

  /** RoPE caches [max_position_embeddings, head_dim/2] in HF rotate-half convention (inv_freq = θ^(−2i/d)). */
  protected makeRopeCaches(g: Graph): { cos: string; sin: string } {
    const { maxPositionEmbeddings: P, headDim: d, ropeTheta } = this.llm;
    const half = d / 2;
    const cos = new Float32Array(P * half);
    const sin = new Float32Array(P * half);
    for (let pos = 0; pos < P; pos++) {
      for (let k = 0; k < half; k++) {
        const angle = pos * ropeTheta ** ((-2 * k) / d);
        cos[pos * half + k] = Math.cos(angle);
        sin[pos * half + k] = Math.sin(angle);
      }
    }
    return {
      cos: this.weight(g, 'rope.cos_cache', [P, half], cos),
      sin: this.weight(g, 'rope.sin_cache', [P, half], sin),
    };
  }

  /** The last position of each row: [batch, S, H] → [batch, 1, H]. */
  protected lastPosition(g: Graph, x: string): string {
    return g.op('Slice', [x, g.constInt64([-1]), g.constInt64([TO_END]), g.constInt64([1])]);
  }

  /** RMSNorm weight of layer i (`input_layernorm` or `post_attention_layernorm`). */
  protected rmsNormWeight(i: number, which: 'input_layernorm' | 'post_attention_layernorm'): Float32Array {
    return this.ckpt.main.read(`${llmNames.layer(i)}.${which}.weight`, [this.llm.hiddenSize]);
  }

  /** lm_head (the tied embedding table when the checkpoint has none) → float32 logits. */
  protected makeLmHead(g: Graph, x: string): string {
    const { hiddenSize: H, vocabSize: V, tieWordEmbeddings } = this.llm;
    const m = this.ckpt.main;
    const name = tieWordEmbeddings && !m.has(llmNames.lmHead) ? llmNames.embed : llmNames.lmHead;
    return this.toFloat32(g, this.makeLinear(g, x, 'lm_head', m.read(name, [V, H]), V, H, { quantize: true }));
  }

  /** Names `logits` float32 [batch, 1, vocab] and makes it the first output, ahead of the per-layer present.*. */
  protected makeLogitsOutput(g: Graph, logits: string): void {
    g.node('Identity', [logits], {}, { outputs: ['logits'] });
    g.output('logits', 'float32', ['batch', 1, this.llm.vocabSize]);
    g.outputs.unshift(g.outputs.pop()!);
  }

  /** The GQA layer stack from float32 embeddings to float32 logits at the last position. */
  protected makeDecoderStack(g: Graph, embeds: string, ctx: GqaContext): string {
    const { numLayers, rmsNormEps: eps } = this.llm;
    // Each layer's MLP output is added to the residual stream by the next SkipSimplifiedLayerNormalization.
    let hidden = this.toCompute(g, embeds);
    let residual: string | undefined;
    for (let i = 0; i < numLayers; i++) {
      this.progress(`decoder: layer ${i + 1}/${numLayers}`);
      const ln1 = this.makeRmsNorm(
        g,
        hidden,
        `layers.${i}.input_layernorm`,
        this.rmsNormWeight(i, 'input_layernorm'),
        eps,
        residual,
      );
      const attn = this.makeAttention(g, ln1.out, i, ctx);
      const ln2 = this.makeRmsNorm(
        g,
        attn,
        `layers.${i}.post_attention_layernorm`,
        this.rmsNormWeight(i, 'post_attention_layernorm'),
        eps,
        ln1.residual,
      );
      residual = ln2.residual;
      hidden = this.makeMlp(g, ln2.out, i);
    }
    // Only the last position of each row reaches the final norm and the LM head.
    this.progress('decoder: lm_head');
    const norm = this.ckpt.main.read(llmNames.norm, [this.llm.hiddenSize]);
    const last = this.lastPosition(g, hidden);
    const final = this.makeRmsNorm(g, last, 'norm', norm, eps, residual && this.lastPosition(g, residual));
    return this.makeLmHead(g, final.out);
  }

  /**
   * `inputs_embeds` float32 [batch, S, H], `attention_mask` int64 [batch, total_sequence_length],
   * `past_key_values.*` → `logits` float32 [batch, 1, V], `present.*` (docs/model-format.md).
   */
  build(outDir: string): BuiltGraph {
    return this.writeGraph(outDir, 'decoder', 'yi_vl_decoder', (g) => {
      const embeds = g.input('inputs_embeds', 'float32', ['batch', 'sequence_length', this.llm.hiddenSize]);
      const mask = g.input('attention_mask', 'int64', ['batch', 'total_sequence_length']);
      // genai-style mask reformatting: seqlens_k = Σmask − 1, total_sequence_length = mask.shape[1].
      const sum = g.op('ReduceSum', [mask, g.constInt64([1])], { keepdims: int(0) });
      const seqlensK = this.cast(g, g.op('Sub', [sum, g.constInt64([1], true)]), 'int32', 'seqlens_k');
      const total = g.op('Gather', [g.op('Shape', [mask]), g.constInt64([1], true)], { axis: int(0) });
      const totalLen = this.cast(g, total, 'int32', 'total_sequence_length');
      const rope = this.makeRopeCaches(g);
      this.makeLogitsOutput(g, this.makeDecoderStack(g, embeds, { seqlensK, totalLen, ...rope }));
    });
  }
}
