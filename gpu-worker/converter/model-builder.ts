// Builds the three Yi-VL graphs (vision tower + projector, token embeddings, decoder) from a checkpoint,
// one tensor at a time: read → transform → append to the external data file → drop.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, llmNames, vitNames } from '../yi-vl/checkpoint/checkpoint.ts';
import { f32ToF16 } from '../yi-vl/checkpoint/dtypes.ts';
import { quantizeInt4 } from './int4.ts';
import { type Dim, ExternalData, float, Graph, graphAttr, int, ints, type ValueInfo } from './onnx/graph.ts';

export type WeightDtype = 'fp32' | 'fp16' | 'int4';
export type ComputeDtype = 'float32' | 'float16';

export interface BuildOptions {
  dtype: WeightDtype;
  /** MatMulNBits block size (int4 only) */
  blockSize: number;
  /** MatMulNBits accuracy_level (int4 only): 0 = unset, 4 = int8 activations on CPU */
  accuracyLevel: number;
  /** activations and KV cache of int4 builds: float32 (CPU, default) or float16 (CUDA) */
  int4Compute?: ComputeDtype;
  onProgress?: (message: string) => void;
}

export interface BuiltGraph {
  file: string;
  dataFile: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

// Slice end meaning "to the end" (clamped by onnxruntime); kept within double precision.
const TO_END = Number.MAX_SAFE_INTEGER;
const ONNX_TYPE: Record<ComputeDtype, number> = { float32: 1, float16: 10 };

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[base + c]!;
  }
  return out;
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function bytesOf(values: Float32Array, dtype: ComputeDtype): Uint8Array {
  if (dtype === 'float16') return new Uint8Array(f32ToF16(values).buffer);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export class YiVlModelBuilder {
  readonly compute: ComputeDtype;

  constructor(
    private readonly ckpt: Checkpoint,
    private readonly opts: BuildOptions,
  ) {
    this.compute =
      opts.dtype === 'fp16' || (opts.dtype === 'int4' && opts.int4Compute === 'float16') ? 'float16' : 'float32';
  }

  private progress(msg: string): void {
    this.opts.onProgress?.(msg);
  }

  private weight(
    g: Graph,
    name: string,
    dims: number[],
    values: Float32Array,
    dtype: ComputeDtype = this.compute,
  ): string {
    return g.initializer(name, dtype, dims, bytesOf(values, dtype));
  }

  private scalar(g: Graph, value: number, dtype: ComputeDtype): string {
    return g.constScalar(value, dtype, (v) => bytesOf(Float32Array.from(v), dtype));
  }

  private cast(g: Graph, x: string, to: ComputeDtype, name?: string): string {
    return g.op('Cast', [x], { to: int(ONNX_TYPE[to]) }, name ? { name } : {});
  }

  /**
   * y = x·Wᵀ (+ b) for a PyTorch Linear weight W [N, K]. Float weights become a MatMul initializer [K, N];
   * with `quantize` and dtype int4 they become MatMulNBits.
   */
  makeLinear(
    g: Graph,
    x: string,
    name: string,
    w: Float32Array,
    N: number,
    K: number,
    opts: { bias?: Float32Array; quantize?: boolean; dtype?: ComputeDtype } = {},
  ): string {
    const dtype = opts.dtype ?? this.compute;
    if (w.length !== N * K) throw new Error(`${name}: weight has ${w.length} values, expected ${N}×${K}`);
    if (opts.quantize && this.opts.dtype === 'int4') {
      const bs = this.opts.blockSize;
      const q = quantizeInt4(w, N, K, bs);
      const B = g.initializer(`${name}.qweight`, 'uint8', [N, q.kBlocks, bs / 2], q.packed);
      const S = this.weight(g, `${name}.scales`, [N * q.kBlocks], q.scales, dtype);
      const inputs = [x, B, S];
      if (opts.bias) inputs.push('', '', this.weight(g, `${name}.bias`, [N], opts.bias, dtype));
      return g.op(
        'MatMulNBits',
        inputs,
        { K: int(K), N: int(N), bits: int(4), block_size: int(bs), accuracy_level: int(this.opts.accuracyLevel) },
        { domain: 'com.microsoft', name: `${name}/MatMulNBits` },
      );
    }
    let y = g.op(
      'MatMul',
      [x, this.weight(g, `${name}.weight`, [K, N], transpose(w, N, K), dtype)],
      {},
      { name: `${name}/MatMul` },
    );
    if (opts.bias)
      y = g.op('Add', [y, this.weight(g, `${name}.bias`, [N], opts.bias, dtype)], {}, { name: `${name}/Add` });
    return y;
  }

  /** LayerNorm with affine weight and bias (ViT and projector). */
  makeLayerNorm(
    g: Graph,
    x: string,
    name: string,
    weight: Float32Array,
    bias: Float32Array,
    eps: number,
    dtype = this.compute,
  ): string {
    const n = weight.length;
    return g.op(
      'LayerNormalization',
      [x, this.weight(g, `${name}.weight`, [n], weight, dtype), this.weight(g, `${name}.bias`, [n], bias, dtype)],
      { axis: int(-1), epsilon: float(eps) },
      { name: `${name}/LayerNorm` },
    );
  }

  /** RMSNorm; with `skip` it first adds the residual and also returns the sum (the next residual). */
  makeRmsNorm(
    g: Graph,
    x: string,
    name: string,
    weight: Float32Array,
    eps: number,
    skip?: string,
  ): { out: string; residual: string } {
    const gamma = this.weight(g, `${name}.weight`, [weight.length], weight);
    if (!skip) {
      const out = g.op(
        'SimplifiedLayerNormalization',
        [x, gamma],
        { axis: int(-1), epsilon: float(eps) },
        { name: `${name}/RMSNorm` },
      );
      return { out, residual: x };
    }
    const [out, , , residual] = g.node(
      'SkipSimplifiedLayerNormalization',
      [x, skip, gamma],
      { epsilon: float(eps) },
      {
        domain: 'com.microsoft',
        name: `${name}/SkipRMSNorm`,
        outputs: [`${name}/out`, '', '', `${name}/residual`],
      },
    );
    return { out: out!, residual: residual! };
  }

  private gelu(g: Graph, x: string, act: 'gelu' | 'quick_gelu', dtype: ComputeDtype): string {
    if (act === 'gelu') return g.op('Gelu', [x], {}, { domain: 'com.microsoft' });
    return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, this.scalar(g, 1.702, dtype)])])]);
  }

  // ---------------------------------------------------------------- vision

  private get visionDtype(): ComputeDtype {
    return this.compute;
  }

  /** One pre-norm CLIP encoder layer: x + out_proj(MHA(LN1 x)); then x + fc2(act(fc1(LN2 x))). */
  makeVisionLayer(g: Graph, x: string, j: number): string {
    const v = this.ckpt.config.vision;
    const vit = this.ckpt.vit;
    const C = v.hiddenSize;
    const dt = this.visionDtype;
    const p = vitNames.layer(j);
    const name = `vision.layers.${j}`;
    const h = this.makeLayerNorm(
      g,
      x,
      `${name}.ln1`,
      vit.read(`${p}.layer_norm1.weight`, [C]),
      vit.read(`${p}.layer_norm1.bias`, [C]),
      v.layerNormEps,
      dt,
    );
    // Packed QKV with the 1/√d attention scale folded into the query weights.
    const scale = 1 / Math.sqrt(v.headDim);
    const wq = vit.read(`${p}.self_attn.q_proj.weight`, [C, C]).map((a) => a * scale);
    const bq = vit.read(`${p}.self_attn.q_proj.bias`, [C]).map((a) => a * scale);
    const wqkv = concatRows([
      wq,
      vit.read(`${p}.self_attn.k_proj.weight`, [C, C]),
      vit.read(`${p}.self_attn.v_proj.weight`, [C, C]),
    ]);
    const bqkv = concatRows([
      bq,
      vit.read(`${p}.self_attn.k_proj.bias`, [C]),
      vit.read(`${p}.self_attn.v_proj.bias`, [C]),
    ]);
    const qkv = this.makeLinear(g, h, `${name}.attn.qkv`, wqkv, 3 * C, C, { bias: bqkv, dtype: dt });
    const [q, k, vv] = g.node(
      'Split',
      [qkv, g.constInt64([C, C, C])],
      { axis: int(2) },
      { outputs: 3, name: `${name}.attn/split` },
    );
    const heads = g.constInt64([0, 0, v.numHeads, v.headDim]);
    const qh = g.op('Transpose', [g.op('Reshape', [q!, heads])], { perm: ints([0, 2, 1, 3]) });
    const kh = g.op('Transpose', [g.op('Reshape', [k!, heads])], { perm: ints([0, 2, 3, 1]) });
    const vh = g.op('Transpose', [g.op('Reshape', [vv!, heads])], { perm: ints([0, 2, 1, 3]) });
    const probs = g.op('Softmax', [g.op('MatMul', [qh, kh])], { axis: int(-1) });
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: ints([0, 2, 1, 3]) });
    const merged = g.op('Reshape', [ctx, g.constInt64([0, 0, C])]);
    const attn = this.makeLinear(
      g,
      merged,
      `${name}.attn.out`,
      vit.read(`${p}.self_attn.out_proj.weight`, [C, C]),
      C,
      C,
      {
        bias: vit.read(`${p}.self_attn.out_proj.bias`, [C]),
        dtype: dt,
      },
    );
    const x1 = g.op('Add', [x, attn], {}, { name: `${name}/residual1` });
    const h2 = this.makeLayerNorm(
      g,
      x1,
      `${name}.ln2`,
      vit.read(`${p}.layer_norm2.weight`, [C]),
      vit.read(`${p}.layer_norm2.bias`, [C]),
      v.layerNormEps,
      dt,
    );
    const I = v.intermediateSize;
    const f1 = this.makeLinear(g, h2, `${name}.mlp.fc1`, vit.read(`${p}.mlp.fc1.weight`, [I, C]), I, C, {
      bias: vit.read(`${p}.mlp.fc1.bias`, [I]),
      dtype: dt,
    });
    const f2 = this.makeLinear(
      g,
      this.gelu(g, f1, v.hiddenAct, dt),
      `${name}.mlp.fc2`,
      vit.read(`${p}.mlp.fc2.weight`, [C, I]),
      C,
      I,
      {
        bias: vit.read(`${p}.mlp.fc2.bias`, [C]),
        dtype: dt,
      },
    );
    return g.op('Add', [x1, f2], {}, { name: `${name}/residual2` });
  }

  /** mlp2x_gelu_Norm: Linear → LayerNorm → GELU(erf) → Linear → LayerNorm (eps 1e-5). */
  makeProjector(g: Graph, x: string): string {
    const { llm, vision } = this.ckpt.config;
    const H = llm.hiddenSize;
    const C = vision.hiddenSize;
    const m = this.ckpt.main;
    const dt = this.visionDtype;
    const P = llmNames.projector;
    let y = this.makeLinear(g, x, 'projector.0', m.read(`${P(0)}.weight`, [H, C]), H, C, {
      bias: m.read(`${P(0)}.bias`, [H]),
      dtype: dt,
    });
    y = this.makeLayerNorm(g, y, 'projector.1', m.read(`${P(1)}.weight`, [H]), m.read(`${P(1)}.bias`, [H]), 1e-5, dt);
    y = this.gelu(g, y, 'gelu', dt);
    y = this.makeLinear(g, y, 'projector.3', m.read(`${P(3)}.weight`, [H, H]), H, H, {
      bias: m.read(`${P(3)}.bias`, [H]),
      dtype: dt,
    });
    return this.makeLayerNorm(
      g,
      y,
      'projector.4',
      m.read(`${P(4)}.weight`, [H]),
      m.read(`${P(4)}.bias`, [H]),
      1e-5,
      dt,
    );
  }

  buildVision(outDir: string): BuiltGraph {
    const v = this.ckpt.config.vision;
    const H = this.ckpt.config.llm.hiddenSize;
    const C = v.hiddenSize;
    const vit = this.ckpt.vit;
    const dt = this.visionDtype;
    const data = new ExternalData(join(outDir, 'vision.onnx.data'));
    const g = new Graph('yi_vl_vision', data);
    try {
      const pixels = g.input('pixel_values', 'float32', ['batch', 3, v.imageSize, v.imageSize]);
      let x = dt === 'float32' ? pixels : this.cast(g, pixels, dt);
      const patchW = vit.read(vitNames.patchEmbedding, [C, 3, v.patchSize, v.patchSize]);
      x = g.op(
        'Conv',
        [x, this.weight(g, 'vision.patch_embedding.weight', [C, 3, v.patchSize, v.patchSize], patchW, dt)],
        { kernel_shape: ints([v.patchSize, v.patchSize]), strides: ints([v.patchSize, v.patchSize]) },
        { name: 'vision.patch_embedding' },
      );
      x = g.op('Transpose', [g.op('Reshape', [x, g.constInt64([0, C, -1])])], { perm: ints([0, 2, 1]) });
      const N = v.numPatches;
      const pos = vit.read(vitNames.positionEmbedding, [N + 1, C]);
      x = g.op('Add', [x, this.weight(g, 'vision.position_embedding.patches', [N, C], pos.subarray(C))]);
      // CLS token = class_embedding + position 0, broadcast over the batch.
      const cls = vit.read(vitNames.classEmbedding, [C]).map((a, i) => a + pos[i]!);
      const batch = g.op('Gather', [g.op('Shape', [pixels]), g.constInt64([0])], { axis: int(0) });
      const clsShape = g.op('Concat', [batch, g.constInt64([1, C])], { axis: int(0) });
      const clsB = g.op('Expand', [this.weight(g, 'vision.cls_plus_pos0', [1, 1, C], cls, dt), clsShape]);
      x = g.op('Concat', [clsB, x], { axis: int(1) });
      x = this.makeLayerNorm(
        g,
        x,
        'vision.pre_layrnorm',
        vit.read(`${vitNames.preLn}.weight`, [C]),
        vit.read(`${vitNames.preLn}.bias`, [C]),
        v.layerNormEps,
        dt,
      );
      for (let j = 0; j < v.layersRun; j++) {
        this.progress(`vision: layer ${j + 1}/${v.layersRun}`);
        x = this.makeVisionLayer(g, x, j);
      }
      x = g.op(
        'Slice',
        [x, g.constInt64([1]), g.constInt64([TO_END]), g.constInt64([1])],
        {},
        { name: 'vision/drop_cls' },
      );
      this.progress('vision: projector');
      x = this.makeProjector(g, x);
      if (dt !== 'float32') x = this.cast(g, x, 'float32');
      g.node('Identity', [x], {}, { outputs: ['image_features'] });
      g.output('image_features', 'float32', ['batch', N, H]);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'vision');
  }

  // ---------------------------------------------------------------- embeddings

  buildEmbed(outDir: string): BuiltGraph {
    const { vocabSize: V, hiddenSize: H } = this.ckpt.config.llm;
    const data = new ExternalData(join(outDir, 'embed_tokens.onnx.data'));
    const g = new Graph('yi_vl_embed_tokens', data);
    try {
      this.progress('embed_tokens');
      const ids = g.input('input_ids', 'int64', ['batch', 'sequence_length']);
      const dt: ComputeDtype = this.opts.dtype === 'fp32' ? 'float32' : 'float16';
      const table = this.weight(g, 'embed_tokens.weight', [V, H], this.ckpt.main.read(llmNames.embed, [V, H]), dt);
      let y = g.op('Gather', [table, ids], { axis: int(0) });
      if (dt !== 'float32') y = this.cast(g, y, 'float32');
      g.node('Identity', [y], {}, { outputs: ['inputs_embeds'] });
      g.output('inputs_embeds', 'float32', ['batch', 'sequence_length', H]);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'embed_tokens');
  }

  // ---------------------------------------------------------------- decoder

  /** Packed QKV projection → GroupQueryAttention (fused RoPE, shared KV buffer) → o_proj. */
  makeAttention(
    g: Graph,
    x: string,
    i: number,
    ctx: { seqlensK: string; totalLen: string; cos: string; sin: string },
  ): string {
    const { numHeads, numKvHeads, headDim } = this.ckpt.config.llm;
    const qkv = this.makeQkvProjection(g, x, i);
    const past = this.kvInputs(g, i);
    const [attn] = g.node(
      'GroupQueryAttention',
      [qkv, '', '', past.key, past.value, ctx.seqlensK, ctx.totalLen, ctx.cos, ctx.sin],
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
    const shape = ['batch', numKvHeads, 'max_length', headDim];
    g.output(`present.${i}.key`, this.compute, shape);
    g.output(`present.${i}.value`, this.compute, shape);
    return this.makeOutProjection(g, attn!, i);
  }

  /** Q, K and V projections of layer i fused into one Linear (rows q | k | v), as onnxruntime-genai lays them out. */
  private makeQkvProjection(g: Graph, x: string, i: number): string {
    const { hiddenSize: H, numKvHeads, headDim } = this.ckpt.config.llm;
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

  private makeOutProjection(g: Graph, x: string, i: number): string {
    const H = this.ckpt.config.llm.hiddenSize;
    const w = this.ckpt.main.read(`${llmNames.layer(i)}.self_attn.o_proj.weight`, [H, H]);
    return this.makeLinear(g, x, `layers.${i}.attn.o_proj`, w, H, H, { quantize: true });
  }

  private kvInputs(g: Graph, i: number): { key: string; value: string } {
    const { numKvHeads, headDim } = this.ckpt.config.llm;
    const shape: Dim[] = ['batch', numKvHeads, 'max_length', headDim];
    return {
      key: g.input(`past_key_values.${i}.key`, this.compute, shape),
      value: g.input(`past_key_values.${i}.value`, this.compute, shape),
    };
  }

  /** down(silu(gate(x)) · up(x)) with gate and up packed into one projection. */
  makeMlp(g: Graph, x: string, i: number): string {
    const { hiddenSize: H, intermediateSize: I } = this.ckpt.config.llm;
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
  private ropeCaches(g: Graph): { cos: string; sin: string } {
    const { maxPositionEmbeddings: P, headDim: d, ropeTheta } = this.ckpt.config.llm;
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

  /** The GQA layer stack from float32 embeddings to float32 logits at the last position. */
  private makeDecoderStack(
    g: Graph,
    embeds: string,
    ctx: { seqlensK: string; totalLen: string; cos: string; sin: string },
  ): string {
    const llm = this.ckpt.config.llm;
    const { hiddenSize: H, vocabSize: V, rmsNormEps: eps } = llm;
    const m = this.ckpt.main;
    let x = this.compute === 'float32' ? embeds : this.cast(g, embeds, this.compute);
    let residual = '';
    let pending = '';
    for (let i = 0; i < llm.numLayers; i++) {
      this.progress(`decoder: layer ${i + 1}/${llm.numLayers}`);
      const p = llmNames.layer(i);
      const ln1 = this.makeRmsNorm(
        g,
        i === 0 ? x : pending,
        `layers.${i}.input_layernorm`,
        m.read(`${p}.input_layernorm.weight`, [H]),
        eps,
        i === 0 ? undefined : residual,
      );
      const attn = this.makeAttention(g, ln1.out, i, ctx);
      const ln2 = this.makeRmsNorm(
        g,
        attn,
        `layers.${i}.post_attention_layernorm`,
        m.read(`${p}.post_attention_layernorm.weight`, [H]),
        eps,
        ln1.residual,
      );
      residual = ln2.residual;
      pending = this.makeMlp(g, ln2.out, i);
      x = pending;
    }
    // Only the last position of each row reaches the final norm and the LM head.
    const last = (t: string) => g.op('Slice', [t, g.constInt64([-1]), g.constInt64([TO_END]), g.constInt64([1])]);
    this.progress('decoder: lm_head');
    const final = this.makeRmsNorm(g, last(pending), 'norm', m.read(llmNames.norm, [H]), eps, last(residual));
    const lmName = llm.tieWordEmbeddings && !m.has(llmNames.lmHead) ? llmNames.embed : llmNames.lmHead;
    const logits = this.makeLinear(g, final.out, 'lm_head', m.read(lmName, [V, H]), V, H, { quantize: true });
    return this.compute !== 'float32' ? this.cast(g, logits, 'float32') : logits;
  }

  buildDecoder(outDir: string): BuiltGraph {
    const { hiddenSize: H, vocabSize: V } = this.ckpt.config.llm;
    const data = new ExternalData(join(outDir, 'decoder.onnx.data'));
    const g = new Graph('yi_vl_decoder', data);
    try {
      const embeds = g.input('inputs_embeds', 'float32', ['batch', 'sequence_length', H]);
      const mask = g.input('attention_mask', 'int64', ['batch', 'total_sequence_length']);
      // genai-style mask reformatting: seqlens_k = Σmask − 1, total_sequence_length = mask.shape[1].
      const sum = g.op('ReduceSum', [mask, g.constInt64([1])], { keepdims: int(0) });
      const seqlensK = this.castInt32(g, g.op('Sub', [sum, g.constInt64([1], true)]), 'seqlens_k');
      const total = g.op('Gather', [g.op('Shape', [mask]), g.constInt64([1], true)], { axis: int(0) });
      const totalLen = this.castInt32(g, total, 'total_sequence_length');
      const rope = this.ropeCaches(g);
      const logits = this.makeDecoderStack(g, embeds, { seqlensK, totalLen, ...rope });
      g.node('Identity', [logits], {}, { outputs: ['logits'] });
      g.output('logits', 'float32', ['batch', 1, V]);
      // present.* outputs were declared per layer; put logits first for readability.
      g.outputs.unshift(g.outputs.pop()!);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'decoder');
  }

  // ---------------------------------------------------------------- plain-op decoder variant

  /** RMSNorm from standard ops: x · (mean(x²) + eps)^−½ · γ. */
  private plainRmsNorm(g: Graph, x: string, name: string, weight: Float32Array, eps: number): string {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: ints([-1]), keepdims: int(1) });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, this.scalar(g, eps, this.compute)])])]);
    return g.op(
      'Mul',
      [g.op('Mul', [x, inv]), this.weight(g, `${name}.weight`, [weight.length], weight)],
      {},
      { name: `${name}/RMSNorm` },
    );
  }

  /** Position-dependent tensors shared by every layer of the plain variant. */
  private plainContext(g: Graph, embeds: string, pastKey0: string) {
    const { headDim: d } = this.ckpt.config.llm;
    const pastLen = g.op('Gather', [g.op('Shape', [pastKey0]), g.constInt64([2], true)], { axis: int(0) });
    const seqLen = g.op('Gather', [g.op('Shape', [embeds]), g.constInt64([1], true)], { axis: int(0) });
    const total = g.op('Add', [pastLen, seqLen]);
    const one = g.constInt64([1], true);
    const positions = g.op('Range', [pastLen, total, one]); // [S]
    const rope = this.ropeCaches(g);
    const full = (c: string) => {
      const rows = g.op('Gather', [c, positions], { axis: int(0) }); // [S, d/2]
      return g.op('Concat', [rows, rows], { axis: int(-1) }); // [S, d] (rotate-half layout)
    };
    // causal bias [S, T]: key j is visible to query i when j ≤ past_len + i
    const cols = g.op('Unsqueeze', [g.op('Range', [g.constInt64([0], true), total, one]), g.constInt64([0])]);
    const rows = g.op('Unsqueeze', [positions, g.constInt64([1])]);
    const hidden = g.op('Greater', [cols, rows]);
    const neg = this.scalar(g, this.compute === 'float16' ? -65504 : -1e9, this.compute);
    const zero = this.scalar(g, 0, this.compute);
    const bias = g.op('Where', [hidden, neg, zero]);
    void d;
    return { cos: full(rope.cos), sin: full(rope.sin), bias };
  }

  private plainRope(g: Graph, x: string, cos: string, sin: string): string {
    const half = this.ckpt.config.llm.headDim / 2;
    const [x1, x2] = g.node('Split', [x, g.constInt64([half, half])], { axis: int(-1) }, { outputs: 2 });
    const rotated = g.op('Concat', [g.op('Neg', [x2!]), x1!], { axis: int(-1) });
    return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
  }

  /** MatMul/Softmax attention with explicit RoPE, a causal bias and a concatenated (growing) KV cache. */
  makePlainAttention(
    g: Graph,
    x: string,
    i: number,
    ctx: { cos: string; sin: string; bias: string; past: { key: string; value: string } },
  ): string {
    const { hiddenSize: H, numHeads, numKvHeads, headDim: d } = this.ckpt.config.llm;
    const kvd = numKvHeads * d;
    const qkv = this.makeQkvProjection(g, x, i);
    const [q, k, v] = g.node('Split', [qkv, g.constInt64([H, kvd, kvd])], { axis: int(-1) }, { outputs: 3 });
    const heads = (t: string, n: number) =>
      g.op('Transpose', [g.op('Reshape', [t, g.constInt64([0, 0, n, d])])], { perm: ints([0, 2, 1, 3]) });
    const qh = this.plainRope(g, heads(q!, numHeads), ctx.cos, ctx.sin);
    const kh = this.plainRope(g, heads(k!, numKvHeads), ctx.cos, ctx.sin);
    const vh = heads(v!, numKvHeads);
    const presentK = g.node('Concat', [ctx.past.key, kh], { axis: int(2) }, { outputs: [`present.${i}.key`] })[0]!;
    const presentV = g.node('Concat', [ctx.past.value, vh], { axis: int(2) }, { outputs: [`present.${i}.value`] })[0]!;
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
    const scores = g.op('Mul', [g.op('MatMul', [qh, kT]), this.scalar(g, 1 / Math.sqrt(d), this.compute)]);
    const probs = g.op('Softmax', [g.op('Add', [scores, ctx.bias])], { axis: int(-1) });
    const out = g.op('Transpose', [g.op('MatMul', [probs, expand(presentV)])], { perm: ints([0, 2, 1, 3]) });
    const merged = g.op('Reshape', [out, g.constInt64([0, 0, H])]);
    return this.makeOutProjection(g, merged, i);
  }

  /**
   * The same decoder from standard ONNX ops only (no GroupQueryAttention, no SimplifiedLayerNormalization): the
   * baseline the fused graph is benchmarked against. I/O: `inputs_embeds`, `past_key_values.*` of shape
   * [batch, kv_heads, past_sequence_length, head_dim] (empty at the start) → `logits` (last position),
   * `present.*` [batch, kv_heads, past_sequence_length + sequence_length, head_dim]. No attention_mask: rows
   * cannot differ in length.
   */
  buildPlainDecoder(outDir: string): BuiltGraph {
    const llm = this.ckpt.config.llm;
    const { hiddenSize: H, vocabSize: V, rmsNormEps: eps, numKvHeads, headDim } = llm;
    const m = this.ckpt.main;
    const data = new ExternalData(join(outDir, 'decoder.onnx.data'));
    const g = new Graph('yi_vl_decoder_plain', data);
    try {
      const embeds = g.input('inputs_embeds', 'float32', ['batch', 'sequence_length', H]);
      const shape: Dim[] = ['batch', numKvHeads, 'past_sequence_length', headDim];
      const pasts = Array.from({ length: llm.numLayers }, (_, i) => ({
        key: g.input(`past_key_values.${i}.key`, this.compute, shape),
        value: g.input(`past_key_values.${i}.value`, this.compute, shape),
      }));
      const ctx = this.plainContext(g, embeds, pasts[0]!.key);
      let x = this.compute === 'float32' ? embeds : this.cast(g, embeds, this.compute);
      for (let i = 0; i < llm.numLayers; i++) {
        this.progress(`decoder (plain): layer ${i + 1}/${llm.numLayers}`);
        const p = llmNames.layer(i);
        const h = this.plainRmsNorm(
          g,
          x,
          `layers.${i}.input_layernorm`,
          m.read(`${p}.input_layernorm.weight`, [H]),
          eps,
        );
        x = g.op('Add', [x, this.makePlainAttention(g, h, i, { ...ctx, past: pasts[i]! })]);
        const h2 = this.plainRmsNorm(
          g,
          x,
          `layers.${i}.post_attention_layernorm`,
          m.read(`${p}.post_attention_layernorm.weight`, [H]),
          eps,
        );
        x = g.op('Add', [x, this.makeMlp(g, h2, i)]);
      }
      const last = g.op('Slice', [x, g.constInt64([-1]), g.constInt64([TO_END]), g.constInt64([1])]);
      const final = this.plainRmsNorm(g, last, 'norm', m.read(llmNames.norm, [H]), eps);
      const lmName = llm.tieWordEmbeddings && !m.has(llmNames.lmHead) ? llmNames.embed : llmNames.lmHead;
      let logits = this.makeLinear(g, final, 'lm_head', m.read(lmName, [V, H]), V, H, { quantize: true });
      if (this.compute !== 'float32') logits = this.cast(g, logits, 'float32');
      g.node('Identity', [logits], {}, { outputs: ['logits'] });
      g.output('logits', 'float32', ['batch', 1, V]);
      g.outputs.unshift(g.outputs.pop()!);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'decoder');
  }

  // ---------------------------------------------------------------- in-graph decode loop (experimental)

  /**
   * `decoder_loop.onnx`: an ONNX Loop whose body is the GQA decoder for one position plus the embedding lookup
   * and a greedy ArgMax, so one run() decodes up to `max_steps` tokens and stops early at an EOS id. I/O:
   * `input_ids` int64 [1, 1] (the last chosen token, not yet in the cache), `past_length` int64 scalar,
   * `max_steps` int64 scalar, `eos_ids` int64 [E], `loop.past.{i}.key|value` (the shared max-length buffers) →
   * `tokens` int64 [steps, 1, 1], `final_length` int64 scalar, `loop.present.{i}.key|value`. Batch 1, greedy only.
   */
  buildLoopDecoder(outDir: string): BuiltGraph {
    const llm = this.ckpt.config.llm;
    const { hiddenSize: H, vocabSize: V, numKvHeads, headDim, numLayers } = llm;
    const data = new ExternalData(join(outDir, 'decoder_loop.onnx.data'));
    const g = new Graph('yi_vl_decoder_loop', data);
    const body = new Graph('yi_vl_decoder_step', data);
    try {
      const kvShape: Dim[] = [1, numKvHeads, 'max_length', headDim];
      const ids = g.input('input_ids', 'int64', [1, 1]);
      const pastLength = g.input('past_length', 'int64', []);
      const maxSteps = g.input('max_steps', 'int64', []);
      g.input('eos_ids', 'int64', ['eos_count']);
      const pasts: string[] = [];
      for (let i = 0; i < numLayers; i++) {
        for (const kind of ['key', 'value']) pasts.push(g.input(`loop.past.${i}.${kind}`, this.compute, kvShape));
      }
      const condTrue = g.initializer('loop.cond_true', 'bool', [], new Uint8Array([1]));

      // body: (iter, cond, token, length, kv…) → (cond, token, length, kv…, scan token)
      const token = body.input('step.token_in', 'int64', [1, 1]);
      const length = body.input('step.length_in', 'int64', []);
      const table = this.weight(
        body,
        'embed_tokens.weight',
        [V, H],
        this.ckpt.main.read(llmNames.embed, [V, H]),
        'float32',
      );
      const embeds = body.op('Gather', [table, token], { axis: int(0) }); // [1, 1, H]
      const seqlensK = this.castInt32(body, body.op('Reshape', [length, body.constInt64([1])]), 'step.seqlens_k');
      const totalLen = this.castInt32(body, body.op('Add', [length, body.constInt64([1], true)]), 'step.total_len');
      const rope = this.ropeCaches(body);
      const logits = this.makeDecoderStack(body, embeds, { seqlensK, totalLen, ...rope });
      const next = body.op('ArgMax', [logits], { axis: int(-1), keepdims: int(0) }); // [1, 1]
      const hits = body.op('Cast', [body.op('Equal', [next, 'eos_ids'])], { to: int(7) });
      const isEos = body.op('ReduceMax', [hits], { keepdims: int(0) });
      body.node('Equal', [isEos, body.constInt64([0], true)], {}, { outputs: ['step.cond_out'] });
      body.node('Identity', [next], {}, { outputs: ['step.token_out'] });
      body.node('Identity', [next], {}, { outputs: ['step.token_scan'] });
      body.node('Add', [length, body.constInt64([1], true)], {}, { outputs: ['step.length_out'] });
      // makeAttention declared past_key_values.* / present.* on the body; put the body's I/O in Loop order
      const kvIn = body.inputs.filter((v) => v.name.startsWith('past_key_values.'));
      const kvOut = body.outputs.filter((v) => v.name.startsWith('present.'));
      body.inputs.splice(
        0,
        body.inputs.length,
        { name: 'step.iter', dtype: 'int64', shape: [] },
        { name: 'step.cond_in', dtype: 'bool', shape: [] },
        { name: token, dtype: 'int64', shape: [1, 1] },
        { name: length, dtype: 'int64', shape: [] },
        ...kvIn,
      );
      body.outputs.splice(
        0,
        body.outputs.length,
        { name: 'step.cond_out', dtype: 'bool', shape: [] },
        { name: 'step.token_out', dtype: 'int64', shape: [1, 1] },
        { name: 'step.length_out', dtype: 'int64', shape: [] },
        ...kvOut,
        { name: 'step.token_scan', dtype: 'int64', shape: [1, 1] },
      );

      const presents = pasts.map((p) => p.replace('loop.past.', 'loop.present.'));
      g.node(
        'Loop',
        [maxSteps, condTrue, ids, pastLength, ...pasts],
        { body: graphAttr(body) },
        {
          name: 'decode_loop',
          outputs: ['last_token', 'final_length', ...presents, 'tokens'],
        },
      );
      g.usesMicrosoftDomain = true;
      g.output('tokens', 'int64', ['steps', 1, 1]);
      g.output('final_length', 'int64', []);
      for (const p of presents) g.output(p, this.compute, kvShape);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'decoder_loop');
  }

  private castInt32(g: Graph, x: string, name: string): string {
    return g.node('Cast', [x], { to: int(6) }, { outputs: [name], name: `${name}/Cast` })[0]!;
  }

  private finish(g: Graph, outDir: string, base: string): BuiltGraph {
    const file = `${base}.onnx`;
    const bytes = g.encode({ 'yi_vl.graph': base, 'yi_vl.dtype': this.opts.dtype });
    writeFileSync(join(outDir, file), bytes);
    this.progress(
      `${file}: ${g.nodeCount} nodes, ${(statSync(join(outDir, `${base}.onnx.data`)).size / 2 ** 20).toFixed(1)} MiB of weights`,
    );
    return { file, dataFile: `${base}.onnx.data`, inputs: [...g.inputs], outputs: [...g.outputs] };
  }
}
