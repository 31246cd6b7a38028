// Builds the three Yi-VL graphs (vision tower + projector, token embeddings, decoder) from a checkpoint,
// one tensor at a time: read → transform → append to the external data file → drop.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Checkpoint, llmNames, vitNames } from '../yi-vl/checkpoint/checkpoint.ts';
import { f32ToF16 } from '../yi-vl/checkpoint/dtypes.ts';
import { quantizeInt4 } from './int4.ts';
import { type Dim, ExternalData, float, Graph, int, ints, type ValueInfo } from './onnx/graph.ts';

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
    const { hiddenSize: H, numHeads, numKvHeads, headDim } = this.ckpt.config.llm;
    const m = this.ckpt.main;
    const p = `${llmNames.layer(i)}.self_attn`;
    const kvd = numKvHeads * headDim;
    const wqkv = concatRows([
      m.read(`${p}.q_proj.weight`, [H, H]),
      m.read(`${p}.k_proj.weight`, [kvd, H]),
      m.read(`${p}.v_proj.weight`, [kvd, H]),
    ]);
    const qkv = this.makeLinear(g, x, `layers.${i}.attn.qkv`, wqkv, H + 2 * kvd, H, { quantize: true });
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
    return this.makeLinear(g, attn!, `layers.${i}.attn.o_proj`, m.read(`${p}.o_proj.weight`, [H, H]), H, H, {
      quantize: true,
    });
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

  buildDecoder(outDir: string): BuiltGraph {
    const llm = this.ckpt.config.llm;
    const { hiddenSize: H, vocabSize: V, rmsNormEps: eps } = llm;
    const m = this.ckpt.main;
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
        const attn = this.makeAttention(g, ln1.out, i, { seqlensK, totalLen, ...rope });
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
      let logits = this.makeLinear(g, final.out, 'lm_head', m.read(lmName, [V, H]), V, H, { quantize: true });
      if (this.compute !== 'float32') logits = this.cast(g, logits, 'float32');
      g.node('Identity', [logits], {}, { outputs: ['logits'] });
      g.output('logits', 'float32', ['batch', 1, V]);
      // present.* outputs were declared per layer; put logits first for readability.
      g.outputs.unshift(g.outputs.pop()!);
    } finally {
      data.close();
    }
    return this.finish(g, outDir, 'decoder');
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
