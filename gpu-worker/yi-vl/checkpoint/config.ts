// Parses the LLaVA wrapper config.json and the vit/ CLIPVisionModel config into the dimensions the converter needs.

export const SUPPORTED_PROJECTORS = ['mlp2x_gelu_Norm'] as const;

export interface LlmDims {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
}

export interface VisionDims {
  imageSize: number;
  patchSize: number;
  numPatches: number;
  hiddenSize: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  numLayers: number;
  /** encoder layers to run so that their output is hidden_states[mm_vision_select_layer] */
  layersRun: number;
  hiddenAct: 'gelu' | 'quick_gelu';
  layerNormEps: number;
}

export interface YiVlConfig {
  llm: LlmDims;
  vision: VisionDims;
  projectorType: (typeof SUPPORTED_PROJECTORS)[number];
  /** mm_vision_tower as written in config.json (relative to the checkpoint folder) */
  visionTower: string;
  selectLayer: number;
  bosTokenId: number;
  eosTokenId: number;
}

type Json = Record<string, unknown>;

export class ConfigError extends Error {}

function num(cfg: Json, key: string, where: string, fallback?: number): number {
  const v = cfg[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where}: "${key}" must be a number`);
  return v;
}

function int(cfg: Json, key: string, where: string, fallback?: number): number {
  const v = num(cfg, key, where, fallback);
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${where}: "${key}" must be a positive integer`);
  return v;
}

export function parseLlmConfig(
  cfg: Json,
  where = 'config.json',
): Omit<YiVlConfig, 'vision'> & { mmHiddenSize: number } {
  const projectorType = cfg.mm_projector_type;
  if (typeof projectorType !== 'string' || !(SUPPORTED_PROJECTORS as readonly string[]).includes(projectorType)) {
    throw new ConfigError(
      `${where}: unknown mm_projector_type ${JSON.stringify(projectorType)} (supported: ${SUPPORTED_PROJECTORS.join(', ')})`,
    );
  }
  const feature = cfg.mm_vision_select_feature ?? 'patch';
  if (feature !== 'patch')
    throw new ConfigError(`${where}: mm_vision_select_feature ${JSON.stringify(feature)} unsupported`);
  if (cfg.rope_scaling !== undefined && cfg.rope_scaling !== null) {
    throw new ConfigError(`${where}: rope_scaling is not supported`);
  }
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') {
    throw new ConfigError(`${where}: hidden_act ${JSON.stringify(cfg.hidden_act)} unsupported (expected silu)`);
  }
  if (cfg.attention_bias === true) throw new ConfigError(`${where}: attention_bias true is not supported`);
  const tower = cfg.mm_vision_tower;
  if (typeof tower !== 'string' || tower === '') throw new ConfigError(`${where}: "mm_vision_tower" missing`);
  const hiddenSize = int(cfg, 'hidden_size', where);
  const numHeads = int(cfg, 'num_attention_heads', where);
  const numKvHeads = int(cfg, 'num_key_value_heads', where, numHeads);
  if (hiddenSize % numHeads !== 0) throw new ConfigError(`${where}: hidden_size not divisible by num_attention_heads`);
  if (numHeads % numKvHeads !== 0) throw new ConfigError(`${where}: num_attention_heads not divisible by kv heads`);
  const selectLayer = num(cfg, 'mm_vision_select_layer', where, -2);
  return {
    llm: {
      hiddenSize,
      numLayers: int(cfg, 'num_hidden_layers', where),
      numHeads,
      numKvHeads,
      headDim: hiddenSize / numHeads,
      intermediateSize: int(cfg, 'intermediate_size', where),
      vocabSize: int(cfg, 'vocab_size', where),
      maxPositionEmbeddings: int(cfg, 'max_position_embeddings', where),
      ropeTheta: num(cfg, 'rope_theta', where, 10000),
      rmsNormEps: num(cfg, 'rms_norm_eps', where, 1e-6),
      tieWordEmbeddings: cfg.tie_word_embeddings === true,
    },
    projectorType: projectorType as YiVlConfig['projectorType'],
    visionTower: tower,
    selectLayer,
    bosTokenId: num(cfg, 'bos_token_id', where, 1),
    eosTokenId: num(cfg, 'eos_token_id', where, 2),
    mmHiddenSize: int(cfg, 'mm_hidden_size', where),
  };
}

export function parseVisionConfig(cfg: Json, selectLayer: number, where = 'vit config.json'): VisionDims {
  // Some exports nest the vision part under vision_config (CLIPConfig); accept both.
  const v = (typeof cfg.vision_config === 'object' && cfg.vision_config !== null ? cfg.vision_config : cfg) as Json;
  const act = v.hidden_act ?? 'quick_gelu';
  if (act !== 'gelu' && act !== 'quick_gelu')
    throw new ConfigError(`${where}: hidden_act ${JSON.stringify(act)} unsupported`);
  const imageSize = int(v, 'image_size', where);
  const patchSize = int(v, 'patch_size', where);
  if (imageSize % patchSize !== 0) throw new ConfigError(`${where}: image_size not divisible by patch_size`);
  const hiddenSize = int(v, 'hidden_size', where);
  const numHeads = int(v, 'num_attention_heads', where);
  if (hiddenSize % numHeads !== 0) throw new ConfigError(`${where}: hidden_size not divisible by heads`);
  const numLayers = int(v, 'num_hidden_layers', where);
  // hidden_states has numLayers + 1 entries (embeddings output first); negative indices count from the end.
  const layersRun = selectLayer < 0 ? numLayers + 1 + selectLayer : selectLayer;
  if (!Number.isInteger(layersRun) || layersRun < 0 || layersRun > numLayers) {
    throw new ConfigError(`${where}: mm_vision_select_layer ${selectLayer} out of range for ${numLayers} layers`);
  }
  const side = imageSize / patchSize;
  return {
    imageSize,
    patchSize,
    numPatches: side * side,
    hiddenSize,
    numHeads,
    headDim: hiddenSize / numHeads,
    intermediateSize: int(v, 'intermediate_size', where),
    numLayers,
    layersRun,
    hiddenAct: act,
    layerNormEps: num(v, 'layer_norm_eps', where, 1e-5),
  };
}

export function parseYiVlConfig(wrapper: Json, visionCfg: Json): YiVlConfig {
  const { mmHiddenSize, ...rest } = parseLlmConfig(wrapper);
  const vision = parseVisionConfig(visionCfg, rest.selectLayer);
  if (mmHiddenSize !== vision.hiddenSize) {
    throw new ConfigError(`config.json mm_hidden_size ${mmHiddenSize} != vision hidden_size ${vision.hiddenSize}`);
  }
  return { ...rest, vision };
}
