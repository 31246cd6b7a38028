/**
 * A tiny random-weight Yi-VL repository laid out as the official `01-ai/Yi-VL-6B` and `01-ai/Yi-VL-34B` ones are
 * (spec §1): bf16 PyTorch shards `pytorch_model-0000N-of-0000M.bin` with their index (2 shards for 6B, 8 for 34B),
 * the tokenizer and configs, and `vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-<6B|34B>-448/` holding the HF
 * CLIPVisionModel weights beside the files a pull must leave on the Hub: `open_clip_pytorch_model.bin`, the CLIP
 * text tokenizer, plus a README, LICENSE, `.gitattributes` and an example image at the top.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTinyCheckpoint, TOWER_DIR } from '../../gpu-worker/yi-vl/checkpoint/tiny.ts';
import { TorchBinFile } from '../../gpu-worker/yi-vl/checkpoint/torch-bin.ts';
import { writeTorchBin } from '../../gpu-worker/yi-vl/checkpoint/torch-bin-writer.ts';

export type YiVlSize = '6B' | '34B';

export const officialTowerDir = (size: YiVlSize) => `vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-${size}-448`;

/** Files of the official layout that the converter does not need. */
export const UNUSED_FILES = (size: YiVlSize) => [
  '.gitattributes',
  'LICENSE',
  'README.md',
  'images/cats.jpg',
  `${officialTowerDir(size)}/open_clip_pytorch_model.bin`,
  `${officialTowerDir(size)}/open_clip_config.json`,
  `${officialTowerDir(size)}/preprocessor_config.json`,
  `${officialTowerDir(size)}/tokenizer.json`,
  `${officialTowerDir(size)}/vocab.json`,
  `${officialTowerDir(size)}/merges.txt`,
];

/**
 * Splits `pytorch_model.bin` into `count` shards by tensor count with the index the release has (the tiny model's two
 * big embedding matrices would leave a split by bytes with fewer shards than asked for).
 */
function shardByCount(out: string, count: number): void {
  const single = join(out, 'pytorch_model.bin');
  const file = new TorchBinFile(single);
  const names = [...file.tensors.keys()];
  const per = Math.ceil(names.length / count);
  const pad = (n: number) => String(n).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  let total = 0;
  for (let k = 0; k < count; k++) {
    const shard = `pytorch_model-${pad(k + 1)}-of-${pad(count)}.bin`;
    const tensors = names.slice(k * per, (k + 1) * per).map((name) => {
      const info = file.tensors.get(name)!;
      weightMap[name] = shard;
      total += info.byteLength;
      return { name, dtype: info.dtype, shape: info.shape, data: file.readBytes(name) };
    });
    writeTorchBin(join(out, shard), tensors);
  }
  file.close();
  rmSync(single);
  writeFileSync(
    join(out, 'pytorch_model.bin.index.json'),
    `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
  );
}

export function makeTinyHubRepo(out: string, size: YiVlSize = '6B', seed = 1): string {
  makeTinyCheckpoint({ out, preset: 'tiny', dtype: 'bf16', seed, format: 'bin', shards: size === '6B' ? 2 : 1 });
  if (size === '34B') shardByCount(out, 8);
  const tower = officialTowerDir(size);
  renameSync(join(out, TOWER_DIR), join(out, tower));
  const cfgPath = join(out, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    cfgPath,
    `${JSON.stringify({ ...cfg, _name_or_path: `yi-vl-${size}-tiny`, mm_vision_tower: `./${tower}` }, null, 2)}\n`,
  );
  writeFileSync(
    join(out, '.gitattributes'),
    '*.bin filter=lfs diff=lfs merge=lfs -text\n*.model filter=lfs diff=lfs merge=lfs -text\n',
  );
  writeFileSync(join(out, 'LICENSE'), 'Apache License 2.0\n');
  mkdirSync(join(out, 'images'), { recursive: true });
  writeFileSync(join(out, 'images/cats.jpg'), randomBytes(2048));
  writeFileSync(join(out, tower, 'open_clip_pytorch_model.bin'), randomBytes(300_000));
  writeFileSync(join(out, tower, 'open_clip_config.json'), '{"model_cfg": {"embed_dim": 1024}}\n');
  writeFileSync(join(out, tower, 'tokenizer.json'), '{"version": "1.0"}\n');
  writeFileSync(join(out, tower, 'vocab.json'), '{}\n');
  writeFileSync(join(out, tower, 'merges.txt'), '#version: 0.2\n');
  return out;
}
