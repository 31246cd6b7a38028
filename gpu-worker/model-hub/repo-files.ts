/**
 * Which files of a Yi-VL repository the converter needs (docs/model-format.md): the configs and tokenizer at the top,
 * the weight shards with their index, and each `vit/<tower>/` folder's `config.json` and HF CLIPVisionModel weights.
 * Everything else — `open_clip_pytorch_model.bin` (3.9 GB, never read), the CLIP text tokenizer files, images,
 * READMEs — stays on the Hub. Safetensors win over PyTorch pickles when a revision has both, as in the converter.
 */
import type { Checksum } from './checksum.ts';

/** One file of a tree listing (`GET /api/models/<repo>/tree/<rev>?recursive=true`). */
export interface RepoEntry {
  type: 'file' | 'directory' | 'unknown';
  path: string;
  size: number;
  oid?: string;
  lfs?: { oid: string; size: number };
}

export interface RepoFile {
  path: string;
  size: number;
  checksum: Checksum;
}

/** Small files the converter reads or copies into the converted model (config.json and tokenizer.model required). */
const TOP_LEVEL = [
  'config.json',
  'generation_config.json',
  'tokenizer.model',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
];
const TORCH_WEIGHTS = /^pytorch_model(-\d+-of-\d+)?\.bin$/;

export class NotAYiVlRepoError extends Error {}

/** Weight files of one folder, by the converter's rule (`weightFiles` in gpu-worker/yi-vl/checkpoint/checkpoint.ts). */
function weightsOf(names: string[]): string[] {
  const safetensors = names.filter((n) => n.endsWith('.safetensors') || n.endsWith('.safetensors.index.json'));
  if (safetensors.some((n) => n.endsWith('.safetensors'))) return safetensors;
  return names.filter((n) => TORCH_WEIGHTS.test(n) || n === 'pytorch_model.bin.index.json');
}

function checksumOf(e: RepoEntry): Checksum {
  if (e.lfs) return { kind: 'sha256', hex: e.lfs.oid };
  if (!e.oid) throw new NotAYiVlRepoError(`${e.path}: the listing gives no checksum`);
  return { kind: 'git-blob', hex: e.oid };
}

export function selectConverterFiles(entries: RepoEntry[], label: string): RepoFile[] {
  const files = entries.filter((e) => e.type === 'file');
  const byFolder = new Map<string, string[]>();
  for (const f of files) {
    const cut = f.path.lastIndexOf('/');
    const folder = cut < 0 ? '' : f.path.slice(0, cut);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), f.path.slice(cut + 1)]);
  }
  const top = byFolder.get('') ?? [];
  const missing = ['config.json', 'tokenizer.model'].filter((n) => !top.includes(n));
  const mainWeights = weightsOf(top);
  if (mainWeights.length === 0) missing.push('weights (*.safetensors or pytorch_model*.bin)');
  const wanted = new Set([...TOP_LEVEL.filter((n) => top.includes(n)), ...mainWeights]);
  const towers = [...byFolder.keys()].filter((d) => /^vit\/[^/]+$/.test(d));
  for (const tower of towers) {
    const names = byFolder.get(tower)!;
    const weights = weightsOf(names);
    if (!names.includes('config.json') || weights.length === 0) continue;
    wanted.add(`${tower}/config.json`);
    for (const w of weights) wanted.add(`${tower}/${w}`);
  }
  if (!towers.some((t) => wanted.has(`${t}/config.json`))) missing.push('vit/<tower>/config.json with its weights');
  if (missing.length > 0)
    throw new NotAYiVlRepoError(
      `${label} is not a Yi-VL checkpoint in the official layout: missing ${missing.join(', ')}`,
    );
  return files
    .filter((f) => wanted.has(f.path))
    .map((f) => ({ path: f.path, size: f.lfs?.size ?? f.size, checksum: checksumOf(f) }));
}
