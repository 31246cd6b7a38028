// Which files of the real Yi-VL repositories a pull fetches (their listings as the Hub shows them; sizes rounded).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotAYiVlRepoError, type RepoEntry, selectConverterFiles } from './repo-files.ts';

const GB = 1e9;
const lfs = (path: string, size: number): RepoEntry => ({
  type: 'file',
  path,
  size,
  oid: 'b'.repeat(40),
  lfs: { oid: `${path.length.toString(16).padStart(2, '0')}${'a'.repeat(62)}`, size },
});
const plain = (path: string, size = 1000): RepoEntry => ({ type: 'file', path, size, oid: 'c'.repeat(40) });

function officialListing(size: '6B' | '34B', shards: number[]): RepoEntry[] {
  const tower = `vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-${size}-448`;
  const pad = (n: number) => String(n).padStart(5, '0');
  return [
    plain('.gitattributes', 1520),
    plain('LICENSE', 11_300),
    plain('README.md', 20_000),
    plain('added_tokens.json', 160),
    plain('config.json', 1300),
    plain('generation_config.json', 180),
    { type: 'directory', path: 'images', size: 0, oid: 'd'.repeat(40) },
    lfs('images/cats.jpg', 80_000),
    ...shards.map((s, i) => lfs(`pytorch_model-${pad(i + 1)}-of-${pad(shards.length)}.bin`, s)),
    plain('pytorch_model.bin.index.json', 89_500),
    plain('special_tokens_map.json', 267),
    lfs('tokenizer.model', 1_030_000),
    plain('tokenizer_config.json', 1990),
    { type: 'directory', path: 'vit', size: 0, oid: 'd'.repeat(40) },
    { type: 'directory', path: tower, size: 0, oid: 'd'.repeat(40) },
    plain(`${tower}/config.json`, 700),
    plain(`${tower}/preprocessor_config.json`, 316),
    lfs(`${tower}/pytorch_model.bin`, 2.53 * GB),
    lfs(`${tower}/open_clip_pytorch_model.bin`, 3.94 * GB),
    plain(`${tower}/open_clip_config.json`, 1200),
    plain(`${tower}/tokenizer.json`, 2_220_000),
    plain(`${tower}/tokenizer_config.json`, 900),
    plain(`${tower}/special_tokens_map.json`, 400),
    plain(`${tower}/vocab.json`, 862_000),
    plain(`${tower}/merges.txt`, 525_000),
  ];
}

const total = (files: { size: number }[]) => files.reduce((a, f) => a + f.size, 0);

describe('files a pull takes from a Yi-VL repository', () => {
  test('Yi-VL-6B: configs, tokenizer, 2 shards + index, the vit config and weights — not open_clip', () => {
    const files = selectConverterFiles(officialListing('6B', [9.94 * GB, 3.49 * GB]), '01-ai/Yi-VL-6B');
    const tower = 'vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-6B-448';
    assert.deepEqual(files.map((f) => f.path).sort(), [
      'added_tokens.json',
      'config.json',
      'generation_config.json',
      'pytorch_model-00001-of-00002.bin',
      'pytorch_model-00002-of-00002.bin',
      'pytorch_model.bin.index.json',
      'special_tokens_map.json',
      'tokenizer.model',
      'tokenizer_config.json',
      `${tower}/config.json`,
      `${tower}/pytorch_model.bin`,
    ]);
    assert.ok(Math.abs(total(files) - 15.96 * GB) < 0.01 * GB, String(total(files)));
    const shard = files.find((f) => f.path === 'pytorch_model-00001-of-00002.bin')!;
    assert.equal(shard.checksum.kind, 'sha256');
    assert.equal(files.find((f) => f.path === 'config.json')!.checksum.kind, 'git-blob');
  });

  test('Yi-VL-34B: 8 shards and the 34B vit folder', () => {
    const shards = [9.98, 9.91, 9.75, 9.98, 9.91, 9.75, 9.98, 1.19].map((s) => s * GB);
    const files = selectConverterFiles(officialListing('34B', shards), '01-ai/Yi-VL-34B');
    assert.equal(files.filter((f) => /^pytorch_model-0000\d-of-00008\.bin$/.test(f.path)).length, 8);
    assert.ok(files.some((f) => f.path === 'vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-34B-448/pytorch_model.bin'));
    assert.ok(!files.some((f) => f.path.includes('open_clip')));
    assert.equal(files.length, 17);
  });

  test('a revision with safetensors beside the pickles (refs/pr/13) takes the safetensors only', () => {
    const tower = 'vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-6B-448';
    const listing = [
      ...officialListing('6B', [9.94 * GB, 3.49 * GB]),
      lfs('pytorch_model-00001-of-00002.safetensors', 9.94 * GB),
      lfs('pytorch_model-00002-of-00002.safetensors', 3.49 * GB),
      lfs(`${tower}/model.safetensors`, 2.53 * GB),
    ];
    const weights = selectConverterFiles(listing, 'pr13')
      .map((f) => f.path)
      .filter((p) => /\.(bin|safetensors)$/.test(p));
    assert.deepEqual(weights.sort(), [
      'pytorch_model-00001-of-00002.safetensors',
      'pytorch_model-00002-of-00002.safetensors',
      `${tower}/model.safetensors`,
    ]);
  });

  test('a repository that is not a Yi-VL checkpoint is refused with what is missing', () => {
    assert.throws(
      () => selectConverterFiles([plain('config.json'), lfs('model.safetensors', 100)], 'someone/llama'),
      (err: unknown) =>
        err instanceof NotAYiVlRepoError &&
        /someone\/llama is not a Yi-VL checkpoint .*missing tokenizer\.model, vit\/<tower>\/config\.json/.test(
          err.message,
        ),
    );
  });
});
