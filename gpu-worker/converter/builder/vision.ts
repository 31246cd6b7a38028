// vision.onnx: the CLIP ViT vision tower (patch embedding, CLS token, pre-LayerNorm, the encoder layers Yi-VL
// uses) and the two-layer MLP projector with LayerNorms, from float32 pixels to float32 image features.
import { type Graph, int, ints } from '../../onnx/graph.ts';
import { llmNames, vitNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import { type BuiltGraph, concatRows, GraphBuilder, TO_END } from './base.ts';

export class VisionGraphBuilder extends GraphBuilder {
  private get vision() {
    return this.ckpt.config.vision;
  }

  /** LayerNorm whose weight and bias are `<prefix>.weight` / `<prefix>.bias` of the vision tower. */
  private makeVitLayerNorm(g: Graph, x: string, name: string, prefix: string): string {
    const C = this.vision.hiddenSize;
    const vit = this.ckpt.vit;
    return this.makeLayerNorm(
      g,
      x,
      name,
      vit.read(`${prefix}.weight`, [C]),
      vit.read(`${prefix}.bias`, [C]),
      this.vision.layerNormEps,
    );
  }

  /** Multi-head self-attention from packed QKV, with the 1/√d attention scale folded into the query weights. */
  makeVisionAttention(g: Graph, x: string, j: number): string {
    const v = this.vision;
    const vit = this.ckpt.vit;
    const C = v.hiddenSize;
    const p = `${vitNames.layer(j)}.self_attn`;
    const name = `vision.layers.${j}.attn`;
    const scale = 1 / Math.sqrt(v.headDim);
    const wqkv = concatRows([
      vit.read(`${p}.q_proj.weight`, [C, C]).map((a) => a * scale),
      vit.read(`${p}.k_proj.weight`, [C, C]),
      vit.read(`${p}.v_proj.weight`, [C, C]),
    ]);
    const bqkv = concatRows([
      vit.read(`${p}.q_proj.bias`, [C]).map((a) => a * scale),
      vit.read(`${p}.k_proj.bias`, [C]),
      vit.read(`${p}.v_proj.bias`, [C]),
    ]);
    const qkv = this.makeLinear(g, x, `${name}.qkv`, wqkv, 3 * C, C, { bias: bqkv });
    const [q, k, vv] = g.node(
      'Split',
      [qkv, g.constInt64([C, C, C])],
      { axis: int(2) },
      { outputs: 3, name: `${name}/split` },
    );
    const heads = g.constInt64([0, 0, v.numHeads, v.headDim]);
    const qh = g.op('Transpose', [g.op('Reshape', [q!, heads])], { perm: ints([0, 2, 1, 3]) });
    const kh = g.op('Transpose', [g.op('Reshape', [k!, heads])], { perm: ints([0, 2, 3, 1]) });
    const vh = g.op('Transpose', [g.op('Reshape', [vv!, heads])], { perm: ints([0, 2, 1, 3]) });
    const probs = g.op('Softmax', [g.op('MatMul', [qh, kh])], { axis: int(-1) });
    const ctx = g.op('Transpose', [g.op('MatMul', [probs, vh])], { perm: ints([0, 2, 1, 3]) });
    const merged = g.op('Reshape', [ctx, g.constInt64([0, 0, C])]);
    return this.makeLinear(g, merged, `${name}.out`, vit.read(`${p}.out_proj.weight`, [C, C]), C, C, {
      bias: vit.read(`${p}.out_proj.bias`, [C]),
    });
  }

  /** fc2(act(fc1(x))) */
  makeVisionMlp(g: Graph, x: string, j: number): string {
    const { hiddenSize: C, intermediateSize: I, hiddenAct } = this.vision;
    const vit = this.ckpt.vit;
    const p = `${vitNames.layer(j)}.mlp`;
    const name = `vision.layers.${j}.mlp`;
    const f1 = this.makeLinear(g, x, `${name}.fc1`, vit.read(`${p}.fc1.weight`, [I, C]), I, C, {
      bias: vit.read(`${p}.fc1.bias`, [I]),
    });
    const act = this.makeGelu(g, f1, hiddenAct);
    return this.makeLinear(g, act, `${name}.fc2`, vit.read(`${p}.fc2.weight`, [C, I]), C, I, {
      bias: vit.read(`${p}.fc2.bias`, [C]),
    });
  }

  /** One pre-norm CLIP encoder layer: x + out_proj(MHA(LN1 x)); then x + fc2(act(fc1(LN2 x))). */
  makeVisionLayer(g: Graph, x: string, j: number): string {
    const p = vitNames.layer(j);
    const name = `vision.layers.${j}`;
    const attn = this.makeVisionAttention(g, this.makeVitLayerNorm(g, x, `${name}.ln1`, `${p}.layer_norm1`), j);
    const x1 = g.op('Add', [x, attn], {}, { name: `${name}/residual1` });
    const mlp = this.makeVisionMlp(g, this.makeVitLayerNorm(g, x1, `${name}.ln2`, `${p}.layer_norm2`), j);
    return g.op('Add', [x1, mlp], {}, { name: `${name}/residual2` });
  }

  /** Patch embedding (a strided Conv) + position embeddings, with the CLS token in front: [batch, 1 + N, C]. */
  makeVisionEmbeddings(g: Graph, pixels: string): string {
    const v = this.vision;
    const C = v.hiddenSize;
    const N = v.numPatches;
    const vit = this.ckpt.vit;
    const patch = [C, 3, v.patchSize, v.patchSize];
    let x = g.op(
      'Conv',
      [
        this.toCompute(g, pixels),
        this.weight(g, 'vision.patch_embedding.weight', patch, vit.read(vitNames.patchEmbedding, patch)),
      ],
      { kernel_shape: ints([v.patchSize, v.patchSize]), strides: ints([v.patchSize, v.patchSize]) },
      { name: 'vision.patch_embedding' },
    );
    x = g.op('Transpose', [g.op('Reshape', [x, g.constInt64([0, C, -1])])], { perm: ints([0, 2, 1]) });
    const pos = vit.read(vitNames.positionEmbedding, [N + 1, C]);
    x = g.op('Add', [x, this.weight(g, 'vision.position_embedding.patches', [N, C], pos.subarray(C))]);
    // CLS token = class_embedding + position 0, broadcast over the batch.
    const cls = vit.read(vitNames.classEmbedding, [C]).map((a, i) => a + pos[i]!);
    const batch = g.op('Gather', [g.op('Shape', [pixels]), g.constInt64([0])], { axis: int(0) });
    const clsShape = g.op('Concat', [batch, g.constInt64([1, C])], { axis: int(0) });
    const clsB = g.op('Expand', [this.weight(g, 'vision.cls_plus_pos0', [1, 1, C], cls), clsShape]);
    return g.op('Concat', [clsB, x], { axis: int(1) });
  }

  /** mlp2x_gelu_Norm: Linear → LayerNorm → GELU(erf) → Linear → LayerNorm (eps 1e-5). */
  makeProjector(g: Graph, x: string): string {
    const H = this.ckpt.config.llm.hiddenSize;
    const C = this.vision.hiddenSize;
    const m = this.ckpt.main;
    const P = llmNames.projector;
    const norm = (y: string, idx: 1 | 4) =>
      this.makeLayerNorm(
        g,
        y,
        `projector.${idx}`,
        m.read(`${P(idx)}.weight`, [H]),
        m.read(`${P(idx)}.bias`, [H]),
        1e-5,
      );
    let y = this.makeLinear(g, x, 'projector.0', m.read(`${P(0)}.weight`, [H, C]), H, C, {
      bias: m.read(`${P(0)}.bias`, [H]),
    });
    y = this.makeGelu(g, norm(y, 1), 'gelu');
    y = this.makeLinear(g, y, 'projector.3', m.read(`${P(3)}.weight`, [H, H]), H, H, {
      bias: m.read(`${P(3)}.bias`, [H]),
    });
    return norm(y, 4);
  }

  /** `pixel_values` float32 [batch, 3, image_size, image_size] → `image_features` float32 [batch, patches, H]. */
  build(outDir: string): BuiltGraph {
    const v = this.vision;
    return this.writeGraph(outDir, 'vision', 'yi_vl_vision', (g) => {
      const pixels = g.input('pixel_values', 'float32', ['batch', 3, v.imageSize, v.imageSize]);
      let x = this.makeVitLayerNorm(g, this.makeVisionEmbeddings(g, pixels), 'vision.pre_layrnorm', vitNames.preLn);
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
      g.node('Identity', [this.toFloat32(g, this.makeProjector(g, x))], {}, { outputs: ['image_features'] });
      g.output('image_features', 'float32', ['batch', v.numPatches, this.ckpt.config.llm.hiddenSize]);
    });
  }
}
