// decoder.onnx, plain-op variant: the same decoder from standard ONNX ops only (no GroupQueryAttention, no
// SimplifiedLayerNormalization), with explicit RoPE, a causal bias and a growing concatenated KV cache. It is the
// baseline the fused graph is benchmarked against; the pipeline refuses it.
import { type Dim, type Graph, int, ints } from '../../onnx/graph.ts';
import { llmNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import type { BuiltGraph } from './base.ts';
import { DecoderGraphBuilder } from './decoder.ts';

/** Position-dependent tensors shared by every layer. */
interface PlainContext {
  /** [S, head_dim] rows of the RoPE caches for the new positions (rotate-half layout) */
  cos: string;
  sin: string;
  /** [S, T] additive causal mask */
  bias: string;
}

type KvPair = { key: string; value: string };

export class PlainDecoderGraphBuilder extends DecoderGraphBuilder {
  /** RMSNorm from standard ops: x · (mean(x²) + eps)^−½ · γ. */
  private makePlainRmsNorm(g: Graph, x: string, name: string, weight: Float32Array): string {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: ints([-1]), keepdims: int(1) });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, this.scalar(g, this.llm.rmsNormEps)])])]);
    return g.op(
      'Mul',
      [g.op('Mul', [x, inv]), this.weight(g, `${name}.weight`, [weight.length], weight)],
      {},
      { name: `${name}/RMSNorm` },
    );
  }

  private makePlainContext(g: Graph, embeds: string, pastKey0: string): PlainContext {
    const pastLen = g.op('Gather', [g.op('Shape', [pastKey0]), g.constInt64([2], true)], { axis: int(0) });
    const seqLen = g.op('Gather', [g.op('Shape', [embeds]), g.constInt64([1], true)], { axis: int(0) });
    const total = g.op('Add', [pastLen, seqLen]);
    const one = g.constInt64([1], true);
    const positions = g.op('Range', [pastLen, total, one]); // [S]
    const rope = this.makeRopeCaches(g);
    const full = (c: string) => {
      const rows = g.op('Gather', [c, positions], { axis: int(0) }); // [S, d/2]
      return g.op('Concat', [rows, rows], { axis: int(-1) }); // [S, d] (rotate-half layout)
    };
    // causal bias [S, T]: key j is visible to query i when j ≤ past_len + i
    const cols = g.op('Unsqueeze', [g.op('Range', [g.constInt64([0], true), total, one]), g.constInt64([0])]);
    const rows = g.op('Unsqueeze', [positions, g.constInt64([1])]);
    const hidden = g.op('Greater', [cols, rows]);
    const neg = this.scalar(g, this.compute === 'float16' ? -65504 : -1e9);
    const zero = this.scalar(g, 0);
    const bias = g.op('Where', [hidden, neg, zero]);
    return { cos: full(rope.cos), sin: full(rope.sin), bias };
  }

  private makePlainRope(g: Graph, x: string, cos: string, sin: string): string {
    const half = this.llm.headDim / 2;
    const [x1, x2] = g.node('Split', [x, g.constInt64([half, half])], { axis: int(-1) }, { outputs: 2 });
    const rotated = g.op('Concat', [g.op('Neg', [x2!]), x1!], { axis: int(-1) });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  }

  /** MatMul/Softmax attention with explicit RoPE, a causal bias and a concatenated (growing) KV cache. */
  makePlainAttention(g: Graph, x: string, i: number, ctx: PlainContext, past: KvPair): string {
    const { hiddenSize: H, numHeads, numKvHeads, headDim: d } = this.llm;
    const kvd = numKvHeads * d;
    const qkv = this.makeQkvProjection(g, x, i);
    const [q, k, v] = g.node('Split', [qkv, g.constInt64([H, kvd, kvd])], { axis: int(-1) }, { outputs: 3 });
    const heads = (t: string, n: number) =>
      g.op('Transpose', [g.op('Reshape', [t, g.constInt64([0, 0, n, d])])], { perm: ints([0, 2, 1, 3]) });
    const qh = this.makePlainRope(g, heads(q!, numHeads), ctx.cos, ctx.sin);
    const kh = this.makePlainRope(g, heads(k!, numKvHeads), ctx.cos, ctx.sin);
    const vh = heads(v!, numKvHeads);
    const presentK = g.node('Concat', [past.key, kh], { axis: int(2) }, { outputs: [`present.${i}.key`] })[0]!;
    const presentV = g.node('Concat', [past.value, vh], { axis: int(2) }, { outputs: [`present.${i}.value`] })[0]!;
    const shape = ['batch', numKvHeads, 'total_sequence_length', d];
    g.output(`present.${i}.key`, this.compute, shape);
    g.output(`present.${i}.value`, this.compute, shape);
    // repeat each KV head for its group of query heads: [B, kv, T, d] → [B, kv, g, T, d] → [B, heads, T, d]
    const group = numHeads / numKvHeads;
    const expand = (t: string) =>
      g.op('Reshape', [
        g.op('Expand', [g.op('Unsqueeze', [t, g.constInt64([2])]), g.constInt64([1, 1, group, 1, 1])]),
        g.constInt64([0, numHeads, -1, d]),
      ]);
    const kT = g.op('Transpose', [expand(presentK)], { perm: ints([0, 1, 3, 2]) });
    const scores = g.op('Mul', [g.op('MatMul', [qh, kT]), this.scalar(g, 1 / Math.sqrt(d))]);
    const probs = g.op('Softmax', [g.op('Add', [scores, ctx.bias])], { axis: int(-1) });
    const out = g.op('Transpose', [g.op('MatMul', [probs, expand(presentV)])], { perm: ints([0, 2, 1, 3]) });
    const merged = g.op('Reshape', [out, g.constInt64([0, 0, H])]);
    return this.makeOutProjection(g, merged, i);
  }

  /**
   * I/O: `inputs_embeds`, `past_key_values.*` of shape [batch, kv_heads, past_sequence_length, head_dim] (empty at
   * the start) → `logits` (last position), `present.*` [batch, kv_heads, past_sequence_length + sequence_length,
   * head_dim]. No attention_mask: rows cannot differ in length.
   */
  override build(outDir: string): BuiltGraph {
    const { hiddenSize: H, numKvHeads, headDim, numLayers } = this.llm;
    return this.writeGraph(outDir, 'decoder', 'yi_vl_decoder_plain', (g) => {
      const embeds = g.input('inputs_embeds', 'float32', ['batch', 'sequence_length', H]);
      const shape: Dim[] = ['batch', numKvHeads, 'past_sequence_length', headDim];
      const pasts: KvPair[] = Array.from({ length: numLayers }, (_, i) => ({
        key: g.input(`past_key_values.${i}.key`, this.compute, shape),
        value: g.input(`past_key_values.${i}.value`, this.compute, shape),
      }));
      const ctx = this.makePlainContext(g, embeds, pasts[0]!.key);
      let x = this.toCompute(g, embeds);
      for (let i = 0; i < numLayers; i++) {
        this.progress(`decoder (plain): layer ${i + 1}/${numLayers}`);
        const h = this.makePlainRmsNorm(g, x, `layers.${i}.input_layernorm`, this.rmsNormWeight(i, 'input_layernorm'));
        x = g.op('Add', [x, this.makePlainAttention(g, h, i, ctx, pasts[i]!)]);
        const h2 = this.makePlainRmsNorm(
          g,
          x,
          `layers.${i}.post_attention_layernorm`,
          this.rmsNormWeight(i, 'post_attention_layernorm'),
        );
        x = g.op('Add', [x, this.makeMlp(g, h2, i)]);
      }
      const norm = this.ckpt.main.read(llmNames.norm, [H]);
      const final = this.makePlainRmsNorm(g, this.lastPosition(g, x), 'norm', norm);
      this.makeLogitsOutput(g, this.makeLmHead(g, final));
    });
  }
}
