// Generates random-weight Yi-VL checkpoints in the official folder layout (spec §1, §6) for tests and the local stack.
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { f32ToBf16, f32ToF16 } from './dtypes.ts';
import { Rng } from './rng.ts';
import { type SafetensorsDtype, type TensorToWrite, writeSafetensors } from './safetensors.ts';
import { writeTorchBin } from './torch-bin-writer.ts';

export interface TinyPreset {
  llm: {
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    numKvHeads: number;
    intermediateSize: number;
    maxPositionEmbeddings: number;
  };
  vision: { hiddenSize: number; numLayers: number; numHeads: number; intermediateSize: number };
}

export const PRESETS: Record<string, TinyPreset> = {
  tiny: {
    llm: {
      hiddenSize: 64,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      intermediateSize: 128,
      maxPositionEmbeddings: 2048,
    },
    vision: { hiddenSize: 32, numLayers: 3, numHeads: 2, intermediateSize: 64 },
  },
  small: {
    llm: {
      hiddenSize: 512,
      numLayers: 4,
      numHeads: 4,
      numKvHeads: 2,
      intermediateSize: 1376,
      maxPositionEmbeddings: 4096,
    },
    vision: { hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024 },
  },
};

export const VOCAB_SIZE = 64000;
export const TOWER_DIR = 'vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-tiny-448';

export interface TinyOptions {
  out: string;
  preset?: string | TinyPreset;
  /** storage dtype of the main shards (the vit/ folder is always float32, like the release) */
  dtype?: 'bf16' | 'fp16' | 'fp32';
  seed?: number;
  /** number of main shards (≥ 2 gives the sharded index layout; 1 writes a single weights file) */
  shards?: number;
  /** safetensors (default) or the original release's PyTorch pickles (pytorch_model-0000N-of-0000M.bin) */
  format?: 'safetensors' | 'bin';
}

const TOKENIZER_DATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'tokenizer', 'data');

function tensor(name: string, shape: number[], values: Float32Array, dtype: SafetensorsDtype): TensorToWrite {
  const data =
    dtype === 'BF16'
      ? new Uint8Array(f32ToBf16(values).buffer)
      : dtype === 'F16'
        ? new Uint8Array(f32ToF16(values).buffer)
        : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return { name, dtype, shape, data };
}

/** HF CLIPVisionModel tensors with random weights; `prefix` is '' for vit/ and the in-shard prefix otherwise. */
function visionTensors(p: TinyPreset, rng: Rng, prefix: string, dtype: SafetensorsDtype): TensorToWrite[] {
  const C = p.vision.hiddenSize;
  const I = p.vision.intermediateSize;
  const patch = 14;
  const n = (448 / patch) ** 2 + 1;
  const t: TensorToWrite[] = [];
  const add = (name: string, shape: number[], std: number, mean = 0) =>
    t.push(
      tensor(
        prefix + name,
        shape,
        rng.normals(
          shape.reduce((a, b) => a * b, 1),
          std,
          mean,
        ),
        dtype,
      ),
    );
  add('vision_model.embeddings.class_embedding', [C], 0.5);
  add('vision_model.embeddings.patch_embedding.weight', [C, 3, patch, patch], 1 / Math.sqrt(3 * patch * patch));
  add('vision_model.embeddings.position_embedding.weight', [n, C], 0.3);
  for (const ln of ['pre_layrnorm', 'post_layernorm']) {
    add(`vision_model.${ln}.weight`, [C], 0.1, 1);
    add(`vision_model.${ln}.bias`, [C], 0.05);
  }
  for (let j = 0; j < p.vision.numLayers; j++) {
    const l = `vision_model.encoder.layers.${j}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`${l}.self_attn.${proj}.weight`, [C, C], 1 / Math.sqrt(C));
      add(`${l}.self_attn.${proj}.bias`, [C], 0.05);
    }
    for (const ln of ['layer_norm1', 'layer_norm2']) {
      add(`${l}.${ln}.weight`, [C], 0.1, 1);
      add(`${l}.${ln}.bias`, [C], 0.05);
    }
    add(`${l}.mlp.fc1.weight`, [I, C], 1 / Math.sqrt(C));
    add(`${l}.mlp.fc1.bias`, [I], 0.05);
    add(`${l}.mlp.fc2.weight`, [C, I], 1 / Math.sqrt(I));
    add(`${l}.mlp.fc2.bias`, [C], 0.05);
  }
  return t;
}

function llmTensors(p: TinyPreset, rng: Rng, dtype: SafetensorsDtype): TensorToWrite[] {
  const { hiddenSize: H, numHeads, numKvHeads, intermediateSize: I } = p.llm;
  const d = H / numHeads;
  const kvd = numKvHeads * d;
  const C = p.vision.hiddenSize;
  const t: TensorToWrite[] = [];
  const add = (name: string, shape: number[], std: number, mean = 0) =>
    t.push(
      tensor(
        name,
        shape,
        rng.normals(
          shape.reduce((a, b) => a * b, 1),
          std,
          mean,
        ),
        dtype,
      ),
    );
  add('model.embed_tokens.weight', [VOCAB_SIZE, H], 1);
  for (let i = 0; i < p.llm.numLayers; i++) {
    const l = `model.layers.${i}`;
    add(`${l}.input_layernorm.weight`, [H], 0.1, 1);
    add(`${l}.self_attn.q_proj.weight`, [H, H], 1 / Math.sqrt(H));
    add(`${l}.self_attn.k_proj.weight`, [kvd, H], 1 / Math.sqrt(H));
    add(`${l}.self_attn.v_proj.weight`, [kvd, H], 1 / Math.sqrt(H));
    add(`${l}.self_attn.o_proj.weight`, [H, H], 1 / Math.sqrt(H));
    add(`${l}.post_attention_layernorm.weight`, [H], 0.1, 1);
    add(`${l}.mlp.gate_proj.weight`, [I, H], 1 / Math.sqrt(H));
    add(`${l}.mlp.up_proj.weight`, [I, H], 1 / Math.sqrt(H));
    add(`${l}.mlp.down_proj.weight`, [H, I], 1 / Math.sqrt(I));
  }
  add('model.norm.weight', [H], 0.1, 1);
  add('lm_head.weight', [VOCAB_SIZE, H], 2 / Math.sqrt(H));
  add('model.mm_projector.0.weight', [H, C], 1 / Math.sqrt(C));
  add('model.mm_projector.0.bias', [H], 0.05);
  add('model.mm_projector.1.weight', [H], 0.1, 1);
  add('model.mm_projector.1.bias', [H], 0.05);
  add('model.mm_projector.3.weight', [H, H], 1 / Math.sqrt(H));
  add('model.mm_projector.3.bias', [H], 0.05);
  add('model.mm_projector.4.weight', [H], 0.1, 1);
  add('model.mm_projector.4.bias', [H], 0.05);
  return t;
}

/** Keys that Python writes as floats (e.g. `1.0`); strict loaders such as transformers 5 reject ints there. */
const FLOAT_KEYS = ['initializer_factor', 'attention_dropout', 'dropout', 'rope_theta', 'temperature', 'top_p'];

function jsonWithFloats(v: unknown): string {
  let text = JSON.stringify(v, null, 2);
  for (const k of FLOAT_KEYS) text = text.replace(new RegExp(`("${k}": )(-?\\d+)(,?)$`, 'gm'), '$1$2.0$3');
  return `${text}\n`;
}

function resolvePreset(preset: TinyOptions['preset']): TinyPreset {
  if (typeof preset === 'object') return preset;
  const p = PRESETS[preset ?? 'tiny'];
  if (!p) throw new Error(`unknown preset ${preset} (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}

/** Writes the checkpoint and returns its folder. Same options and seed ⇒ byte-identical files. */
export function makeTinyCheckpoint(opts: TinyOptions): string {
  const p = resolvePreset(opts.preset);
  const dtype: SafetensorsDtype = ({ bf16: 'BF16', fp16: 'F16', fp32: 'F32' } as const)[opts.dtype ?? 'bf16'];
  const seed = opts.seed ?? 1;
  const shards = Math.max(1, opts.shards ?? 2);
  const out = opts.out;
  const towerDir = join(out, TOWER_DIR);
  mkdirSync(towerDir, { recursive: true });
  const torchDtype = ({ BF16: 'bfloat16', F16: 'float16', F32: 'float32' } as Record<string, string>)[dtype];

  const config = {
    _name_or_path: 'yi-vl-tiny-random',
    architectures: ['LlavaLlamaForCausalLM'],
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    freeze_mm_mlp_adapter: false,
    hidden_act: 'silu',
    hidden_size: p.llm.hiddenSize,
    image_aspect_ratio: 'pad',
    image_grid_pinpoints: null,
    initializer_range: 0.02,
    intermediate_size: p.llm.intermediateSize,
    max_position_embeddings: p.llm.maxPositionEmbeddings,
    mm_hidden_size: p.vision.hiddenSize,
    mm_projector_type: 'mlp2x_gelu_Norm',
    mm_use_im_patch_token: false,
    mm_use_im_start_end: false,
    mm_vision_select_feature: 'patch',
    mm_vision_select_layer: -2,
    mm_vision_tower: `./${TOWER_DIR}`,
    model_type: 'llava',
    moe_layer: null,
    moe_mode: 'easy',
    num_attention_heads: p.llm.numHeads,
    num_hidden_layers: p.llm.numLayers,
    num_key_value_heads: p.llm.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 5000000.0,
    tie_word_embeddings: false,
    torch_dtype: torchDtype,
    transformers_version: '4.34.0',
    tune_mm_mlp_adapter: false,
    tune_vision_tower: false,
    use_cache: false,
    use_mm_proj: true,
    vocab_size: VOCAB_SIZE,
  };
  const json = jsonWithFloats;
  writeFileSync(join(out, 'config.json'), json(config));
  writeFileSync(
    join(out, 'generation_config.json'),
    json({
      bos_token_id: 6,
      eos_token_id: 7,
      pad_token_id: 0,
      do_sample: true,
      temperature: 0.6,
      top_p: 0.8,
      max_length: 4096,
      transformers_version: '4.34.0',
    }),
  );
  writeFileSync(
    join(out, 'added_tokens.json'),
    json({ '<|startoftext|>': 1, '<|endoftext|>': 2, '<|im_start|>': 6, '<|im_end|>': 7, '<|im_sep|>': 8 }),
  );
  writeFileSync(
    join(out, 'special_tokens_map.json'),
    json({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<unk>', pad_token: '<unk>' }),
  );
  writeFileSync(
    join(out, 'tokenizer_config.json'),
    json({
      tokenizer_class: 'LlamaTokenizer',
      add_bos_token: false,
      add_eos_token: false,
      legacy: true,
      model_max_length: 4096,
      bos_token: '<|startoftext|>',
      eos_token: '<|endoftext|>',
      unk_token: '<unk>',
      pad_token: '<unk>',
    }),
  );
  for (const f of ['tokenizer.model', 'NOTICE.md']) {
    if (!existsSync(join(TOKENIZER_DATA, f))) continue;
    rmSync(join(out, f), { force: true });
    copyFileSync(join(TOKENIZER_DATA, f), join(out, f));
    chmodSync(join(out, f), 0o644); // the source is read-only; copies must stay overwritable
  }
  writeFileSync(
    join(out, 'README.md'),
    `# Random-weight Yi-VL-architecture checkpoint\n\nGenerated by scripts/make-tiny-checkpoint.ts (seed ${seed}). ` +
      'The weights are noise: outputs are meaningless. The tokenizer is the real Yi tokenizer (see NOTICE.md).\n',
  );

  // vit/: float32 HF CLIPVisionModel, as in the release.
  const rng = new Rng(seed);
  writeFileSync(
    join(towerDir, 'config.json'),
    json({
      architectures: ['CLIPVisionModel'],
      attention_dropout: 0.0,
      dropout: 0.0,
      hidden_act: 'gelu',
      hidden_size: p.vision.hiddenSize,
      image_size: 448,
      initializer_factor: 1.0,
      initializer_range: 0.02,
      intermediate_size: p.vision.intermediateSize,
      layer_norm_eps: 1e-5,
      model_type: 'clip_vision_model',
      num_attention_heads: p.vision.numHeads,
      num_channels: 3,
      num_hidden_layers: p.vision.numLayers,
      patch_size: 14,
      projection_dim: 1024,
      torch_dtype: 'float32',
      transformers_version: '4.34.0',
    }),
  );
  writeFileSync(
    join(towerDir, 'preprocessor_config.json'),
    json({
      crop_size: 448,
      do_center_crop: true,
      do_normalize: true,
      do_resize: true,
      feature_extractor_type: 'CLIPFeatureExtractor',
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      size: 448,
    }),
  );
  const bin = opts.format === 'bin';
  const writeWeights = (path: string, tensors: TensorToWrite[]) =>
    bin ? writeTorchBin(path, tensors) : writeSafetensors(path, tensors, { format: 'pt' });
  writeWeights(join(towerDir, bin ? 'pytorch_model.bin' : 'model.safetensors'), visionTensors(p, rng, '', 'F32'));

  // Main shards: LLM + projector + a deliberately different in-shard vision copy (the converter must ignore it).
  const all = [
    ...llmTensors(p, rng, dtype),
    ...visionTensors(p, new Rng(seed + 1000), 'model.vision_tower.vision_tower.', dtype),
  ];
  if (shards === 1) {
    writeWeights(join(out, bin ? 'pytorch_model.bin' : 'model.safetensors'), all);
  } else {
    const total = all.reduce((a, t) => a + t.data.byteLength, 0);
    const per = Math.ceil(total / shards);
    const groups: TensorToWrite[][] = [[]];
    let size = 0;
    for (const t of all) {
      if (size >= per && groups.length < shards) {
        groups.push([]);
        size = 0;
      }
      groups[groups.length - 1]!.push(t);
      size += t.data.byteLength;
    }
    const pad = (n: number) => String(n).padStart(5, '0');
    const weightMap: Record<string, string> = {};
    groups.forEach((g, k) => {
      const file = bin
        ? `pytorch_model-${pad(k + 1)}-of-${pad(groups.length)}.bin`
        : `model-${pad(k + 1)}-of-${pad(groups.length)}.safetensors`;
      writeWeights(join(out, file), g);
      for (const t of g) weightMap[t.name] = file;
    });
    writeFileSync(
      join(out, bin ? 'pytorch_model.bin.index.json' : 'model.safetensors.index.json'),
      json({ metadata: { total_size: total }, weight_map: weightMap }),
    );
  }
  return out;
}
