// Opens a Yi-VL checkpoint folder (official layout, safetensors) without loading any weights.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseYiVlConfig, type YiVlConfig } from './config.ts';
import { SafetensorsFile, type TensorFile, type TensorInfo } from './safetensors.ts';
import { TorchBinFile } from './torch-bin.ts';

export class CheckpointError extends Error {}

/** A set of weight files (safetensors or PyTorch zip) seen as one name → tensor map. */
export class TensorStore {
  private readonly files: TensorFile[] = [];
  private readonly where = new Map<string, TensorFile>();

  constructor(
    readonly label: string,
    paths: string[],
  ) {
    for (const p of paths) {
      let f: TensorFile;
      try {
        f = p.endsWith('.bin') ? new TorchBinFile(p) : new SafetensorsFile(p);
      } catch (e) {
        this.close();
        throw e;
      }
      this.files.push(f);
      for (const name of f.tensors.keys()) this.where.set(name, f);
    }
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  info(name: string): TensorInfo {
    const f = this.where.get(name);
    if (!f) throw new CheckpointError(`${this.label}: missing tensor ${name}`);
    return f.tensors.get(name)!;
  }

  /** Reads a tensor as float32, checking its shape when one is given. */
  read(name: string, shape?: number[]): Float32Array {
    const info = this.info(name);
    if (shape && (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))) {
      throw new CheckpointError(
        `${this.label}: shape mismatch for ${name}: checkpoint has [${info.shape.join(', ')}], config implies [${shape.join(', ')}]`,
      );
    }
    return this.where.get(name)!.readF32(name);
  }

  /** Total bytes of the given tensors as stored. */
  bytes(names: Iterable<string>): number {
    let n = 0;
    for (const name of names) n += this.info(name).byteLength;
    return n;
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

export interface Checkpoint {
  dir: string;
  config: YiVlConfig;
  rawConfig: Record<string, unknown>;
  rawVisionConfig: Record<string, unknown>;
  generationConfig: Record<string, unknown> | null;
  /** vision tower folder, relative to dir */
  visionTowerPath: string;
  /** LLM + projector (+ the unused in-shard vision copy) */
  main: TensorStore;
  /** HF CLIPVisionModel weights from vit/… */
  vit: TensorStore;
  close(): void;
}

function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new CheckpointError(`missing file: ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

const TORCH_WEIGHTS = /^pytorch_model(-\d+-of-\d+)?\.bin$/;

/**
 * Weight files of a folder: safetensors first (through an index when there is one, else every *.safetensors file),
 * then the release's PyTorch zip pickles (pytorch_model.bin.index.json or pytorch_model*.bin; other .bin files such
 * as vit/'s open_clip_pytorch_model.bin are never read).
 */
export function weightFiles(dir: string): string[] {
  const entries = readdirSync(dir);
  const fromIndex = (index: string) => {
    const weightMap = readJson(join(dir, index)).weight_map as Record<string, string> | undefined;
    if (!weightMap) throw new CheckpointError(`${join(dir, index)}: no weight_map`);
    const files = [...new Set(Object.values(weightMap))].sort();
    for (const f of files) if (!existsSync(join(dir, f))) throw new CheckpointError(`missing shard: ${join(dir, f)}`);
    return files.map((f) => join(dir, f));
  };
  const stIndex = entries.find((f) => f.endsWith('.safetensors.index.json'));
  if (stIndex) return fromIndex(stIndex);
  const shards = entries.filter((f) => f.endsWith('.safetensors')).sort();
  if (shards.length > 0) return shards.map((f) => join(dir, f));
  if (entries.includes('pytorch_model.bin.index.json')) return fromIndex('pytorch_model.bin.index.json');
  const bins = entries.filter((f) => TORCH_WEIGHTS.test(f)).sort();
  if (bins.length > 0) return bins.map((f) => join(dir, f));
  throw new CheckpointError(`${dir}: no weights found (expected *.safetensors or pytorch_model*.bin)`);
}

export function openCheckpoint(dirArg: string): Checkpoint {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new CheckpointError(`checkpoint folder not found: ${dir}`);
  const rawConfig = readJson(join(dir, 'config.json'));
  const tower = rawConfig.mm_vision_tower;
  if (typeof tower !== 'string') throw new CheckpointError(`${dir}/config.json: "mm_vision_tower" missing`);
  // The reference joins the (relative) tower path with the model folder; absolute paths from old READMEs are
  // mapped onto the local vit/ folder by their last component.
  let towerDir = join(dir, tower);
  if (!existsSync(towerDir)) {
    const base = tower.split(/[\\/]/).filter(Boolean).pop() ?? '';
    const alt = join(dir, 'vit', base);
    if (base && existsSync(alt)) towerDir = alt;
    else throw new CheckpointError(`vision tower folder not found: ${towerDir} (mm_vision_tower = ${tower})`);
  }
  const rawVisionConfig = readJson(join(towerDir, 'config.json'));
  const config = parseYiVlConfig(rawConfig, rawVisionConfig);
  const genPath = join(dir, 'generation_config.json');
  const generationConfig = existsSync(genPath) ? readJson(genPath) : null;
  const main = new TensorStore('checkpoint', weightFiles(dir));
  let vit: TensorStore;
  try {
    vit = new TensorStore('vision tower', weightFiles(towerDir));
  } catch (e) {
    main.close();
    throw e;
  }
  return {
    dir,
    config,
    rawConfig,
    rawVisionConfig,
    generationConfig,
    visionTowerPath: towerDir.slice(dir.length + 1),
    main,
    vit,
    close() {
      main.close();
      vit.close();
    },
  };
}

/** HF CLIPVisionModel tensor names under the vit/ folder. */
export const vitNames = {
  classEmbedding: 'vision_model.embeddings.class_embedding',
  patchEmbedding: 'vision_model.embeddings.patch_embedding.weight',
  positionEmbedding: 'vision_model.embeddings.position_embedding.weight',
  preLn: 'vision_model.pre_layrnorm',
  postLn: 'vision_model.post_layernorm',
  layer: (j: number) => `vision_model.encoder.layers.${j}`,
};

/** Names in the main shards (LLaVA wrapper around LlamaModel). */
export const llmNames = {
  embed: 'model.embed_tokens.weight',
  layer: (i: number) => `model.layers.${i}`,
  norm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  projector: (idx: 0 | 1 | 3 | 4) => `model.mm_projector.${idx}`,
  inShardVisionPrefix: 'model.vision_tower.vision_tower.',
};
