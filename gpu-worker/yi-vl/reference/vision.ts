// Reference CLIP ViT + mlp2x_gelu_Norm projector in float64, written from the spec (§3, §4), batch 1.

import { f64, geluErf, layerNorm, linear, quickGelu, softmaxInPlace } from './math.ts';
import type { ReferenceModel } from './model.ts';

/** hidden_states[k] of HF CLIPVisionTransformer: k = 0 is the pre-LN embedding output; returns [T, C] with T = 1 + patches. */
export function referenceVisionHidden(ckpt: ReferenceModel, pixels: Float32Array, k: number): Float64Array {
  const v = ckpt.config.vision;
  const get = (name: string) => f64(ckpt.vit.read(`vision_model.${name}`));
  const C = v.hiddenSize;
  const P = v.patchSize;
  const side = v.imageSize / P;
  const T = side * side + 1;
  const S = v.imageSize;
  if (pixels.length !== 3 * S * S) throw new Error(`pixels: expected 3×${S}×${S}`);
  const conv = get('embeddings.patch_embedding.weight');
  const cls = get('embeddings.class_embedding');
  const pos = get('embeddings.position_embedding.weight');
  let x: Float64Array = new Float64Array(T * C);
  for (let c = 0; c < C; c++) x[c] = cls[c]! + pos[c]!;
  const patch = new Float64Array(3 * P * P);
  for (let py = 0; py < side; py++) {
    for (let px = 0; px < side; px++) {
      for (let ch = 0; ch < 3; ch++)
        for (let ky = 0; ky < P; ky++)
          for (let kx = 0; kx < P; kx++)
            patch[(ch * P + ky) * P + kx] = pixels[(ch * S + py * P + ky) * S + px * P + kx]!;
      const t = 1 + py * side + px;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        const wo = c * 3 * P * P;
        for (let i = 0; i < 3 * P * P; i++) acc += conv[wo + i]! * patch[i]!;
        x[t * C + c] = acc + pos[t * C + c]!;
      }
    }
  }
  x = layerNorm(x, T, C, get('pre_layrnorm.weight'), get('pre_layrnorm.bias'), v.layerNormEps);
  const act = v.hiddenAct === 'gelu' ? geluErf : quickGelu;
  const heads = v.numHeads;
  const d = C / heads;
  for (let j = 0; j < k; j++) {
    const l = (name: string) => get(`encoder.layers.${j}.${name}`);
    const h = layerNorm(x, T, C, l('layer_norm1.weight'), l('layer_norm1.bias'), v.layerNormEps);
    const q = linear(h, T, C, l('self_attn.q_proj.weight'), C, l('self_attn.q_proj.bias'));
    const kk = linear(h, T, C, l('self_attn.k_proj.weight'), C, l('self_attn.k_proj.bias'));
    const vv = linear(h, T, C, l('self_attn.v_proj.weight'), C, l('self_attn.v_proj.bias'));
    const ctx = new Float64Array(T * C);
    const scores = new Float64Array(T);
    const scale = d ** -0.5;
    for (let hd = 0; hd < heads; hd++) {
      for (let a = 0; a < T; a++) {
        for (let b = 0; b < T; b++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += q[a * C + hd * d + i]! * kk[b * C + hd * d + i]!;
          scores[b] = s * scale;
        }
        softmaxInPlace(scores, T);
        for (let b = 0; b < T; b++) {
          const p = scores[b]!;
          for (let i = 0; i < d; i++) ctx[a * C + hd * d + i]! += p * vv[b * C + hd * d + i]!;
        }
      }
    }
    const attn = linear(ctx, T, C, l('self_attn.out_proj.weight'), C, l('self_attn.out_proj.bias'));
    for (let i = 0; i < x.length; i++) x[i]! += attn[i]!;
    const h2 = layerNorm(x, T, C, l('layer_norm2.weight'), l('layer_norm2.bias'), v.layerNormEps);
    const I = v.intermediateSize;
    const f1 = linear(h2, T, C, l('mlp.fc1.weight'), I, l('mlp.fc1.bias')).map(act);
    const f2 = linear(f1, T, I, l('mlp.fc2.weight'), C, l('mlp.fc2.bias'));
    for (let i = 0; i < x.length; i++) x[i]! += f2[i]!;
  }
  return x;
}

/** Projector: Linear → LayerNorm → GELU(erf) → Linear → LayerNorm, eps 1e-5. x is [N, mm_hidden]. */
export function referenceProjector(ckpt: ReferenceModel, x: Float64Array, N: number): Float64Array {
  const H = ckpt.config.llm.hiddenSize;
  const C = ckpt.config.vision.hiddenSize;
  const get = (name: string) => f64(ckpt.main.read(`model.mm_projector.${name}`));
  let y = linear(x, N, C, get('0.weight'), H, get('0.bias'));
  y = layerNorm(y, N, H, get('1.weight'), get('1.bias'), 1e-5).map(geluErf);
  y = linear(y, N, H, get('3.weight'), H, get('3.bias'));
  return layerNorm(y, N, H, get('4.weight'), get('4.bias'), 1e-5);
}

/** Image features [patches, H]: hidden_states[select_layer] without CLS, through the projector. */
export function referenceImageFeatures(ckpt: ReferenceModel, pixels: Float32Array): Float64Array {
  const v = ckpt.config.vision;
  // hidden_states has numLayers + 1 entries; mm_vision_select_layer indexes it Python-style.
  const sel = ckpt.config.selectLayer;
  const hidden = referenceVisionHidden(ckpt, pixels, sel < 0 ? v.numLayers + 1 + sel : sel);
  const patches = hidden.subarray(v.hiddenSize);
  return referenceProjector(ckpt, patches, v.numPatches);
}
