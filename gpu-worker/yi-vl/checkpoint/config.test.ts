// The real Yi-VL-6B and Yi-VL-34B configs (spec §3.1, §5.1; no weights) parse into the documented dimensions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseYiVlConfig } from './config.ts';

const common = {
  architectures: ['LlavaLlamaForCausalLM'],
  model_type: 'llava',
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 5000000.0,
  rope_scaling: null,
  max_position_embeddings: 4096,
  vocab_size: 64000,
  attention_bias: false,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  mm_hidden_size: 1280,
  mm_projector_type: 'mlp2x_gelu_Norm',
  mm_vision_select_layer: -2,
  mm_vision_select_feature: 'patch',
  image_aspect_ratio: 'pad',
  image_grid_pinpoints: null,
  mm_use_im_start_end: false,
  mm_use_im_patch_token: false,
};
export const YI_VL_6B = {
  ...common,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  mm_vision_tower: './vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-6B-448',
};
export const YI_VL_34B = {
  ...common,
  hidden_size: 7168,
  intermediate_size: 20480,
  num_hidden_layers: 60,
  num_attention_heads: 56,
  num_key_value_heads: 8,
  mm_vision_tower: './vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-34B-448',
};
export const VIT_H_448 = {
  architectures: ['CLIPVisionModel'],
  model_type: 'clip_vision_model',
  hidden_act: 'gelu',
  hidden_size: 1280,
  image_size: 448,
  intermediate_size: 5120,
  layer_norm_eps: 1e-5,
  num_attention_heads: 16,
  num_hidden_layers: 32,
  patch_size: 14,
  projection_dim: 1024,
  torch_dtype: 'float32',
};

describe('Yi-VL config parsing', () => {
  test('6B', () => {
    const c = parseYiVlConfig(YI_VL_6B, VIT_H_448);
    assert.deepEqual(c.llm, {
      hiddenSize: 4096,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 4,
      headDim: 128,
      intermediateSize: 11008,
      vocabSize: 64000,
      maxPositionEmbeddings: 4096,
      ropeTheta: 5e6,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: false,
    });
    assert.equal(c.vision.numPatches, 1024);
    assert.equal(c.vision.layersRun, 31);
    assert.equal(c.vision.headDim, 80);
    assert.equal(c.vision.hiddenAct, 'gelu');
    assert.equal(c.projectorType, 'mlp2x_gelu_Norm');
  });

  test('34B', () => {
    const c = parseYiVlConfig(YI_VL_34B, VIT_H_448);
    assert.equal(c.llm.hiddenSize, 7168);
    assert.equal(c.llm.numLayers, 60);
    assert.equal(c.llm.numHeads, 56);
    assert.equal(c.llm.numKvHeads, 8);
    assert.equal(c.llm.headDim, 128);
    assert.equal(c.llm.intermediateSize, 20480);
    assert.equal(c.vision.layersRun, 31);
  });

  test('6B vision config without layer_norm_eps defaults to 1e-5; nested vision_config accepted', () => {
    const { layer_norm_eps: _, ...noEps } = VIT_H_448;
    assert.equal(parseYiVlConfig(YI_VL_6B, noEps).vision.layerNormEps, 1e-5);
    assert.equal(parseYiVlConfig(YI_VL_6B, { vision_config: VIT_H_448 }).vision.hiddenSize, 1280);
  });

  test('rejects bad configs with a clear message', () => {
    assert.throws(
      () => parseYiVlConfig({ ...YI_VL_6B, mm_projector_type: 'linear' }, VIT_H_448),
      /unknown mm_projector_type "linear"/,
    );
    assert.throws(
      () => parseYiVlConfig({ ...YI_VL_6B, mm_hidden_size: 1024 }, VIT_H_448),
      /mm_hidden_size 1024 != vision hidden_size 1280/,
    );
    assert.throws(() => parseYiVlConfig({ ...YI_VL_6B, num_key_value_heads: 5 }, VIT_H_448), ConfigError);
    assert.throws(
      () => parseYiVlConfig({ ...YI_VL_6B, hidden_size: 'x' }, VIT_H_448),
      /"hidden_size" must be a number/,
    );
    assert.throws(() => parseYiVlConfig(YI_VL_6B, { ...VIT_H_448, hidden_act: 'relu' }), /hidden_act "relu"/);
    assert.throws(() => parseYiVlConfig({ ...YI_VL_6B, mm_vision_select_layer: -40 }, VIT_H_448), /out of range/);
  });
});
