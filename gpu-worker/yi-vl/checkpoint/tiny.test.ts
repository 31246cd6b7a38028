// The generator writes the official layout, deterministic per seed, with a different in-shard vision copy.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openCheckpoint } from './checkpoint.ts';
import { makeTinyCheckpoint, TOWER_DIR } from './tiny.ts';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('tiny checkpoint generator', () => {
  const root = mkdtempSync(join(tmpdir(), 'tiny-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('official layout, names and dtypes; the real tokenizer; two copies of the tower that differ', () => {
    const dir = makeTinyCheckpoint({ out: join(root, 'a'), seed: 1 });
    for (const f of [
      'config.json',
      'generation_config.json',
      'added_tokens.json',
      'tokenizer.model',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'model.safetensors.index.json',
      `${TOWER_DIR}/config.json`,
      `${TOWER_DIR}/preprocessor_config.json`,
      `${TOWER_DIR}/model.safetensors`,
    ]) {
      assert.ok(existsSync(join(dir, f)), f);
    }
    assert.equal(sha(join(dir, 'tokenizer.model')), '386c49cf943d71aa110361135338c50e38beeff0a66593480421f37b319e1a39');
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    assert.ok(new Set(Object.values(index.weight_map)).size >= 2);
    const ckpt = openCheckpoint(dir);
    try {
      const { llm, vision } = ckpt.config;
      assert.equal(llm.vocabSize, 64000);
      assert.equal(vision.numPatches, 1024);
      const names = new Set(ckpt.main.names());
      for (const n of [
        'model.embed_tokens.weight',
        'lm_head.weight',
        'model.norm.weight',
        'model.layers.1.self_attn.k_proj.weight',
        'model.layers.0.mlp.down_proj.weight',
        'model.mm_projector.4.bias',
        'model.vision_tower.vision_tower.vision_model.pre_layrnorm.weight',
      ]) {
        assert.ok(names.has(n), n);
      }
      assert.ok(!names.has('model.mm_projector.2.weight'));
      assert.equal(ckpt.main.info('lm_head.weight').dtype, 'BF16');
      assert.deepEqual(ckpt.main.info('model.layers.0.self_attn.k_proj.weight').shape, [
        llm.numKvHeads * llm.headDim,
        llm.hiddenSize,
      ]);
      assert.equal(ckpt.vit.info('vision_model.embeddings.patch_embedding.weight').dtype, 'F32');
      assert.deepEqual(ckpt.vit.info('vision_model.embeddings.position_embedding.weight').shape, [
        1025,
        vision.hiddenSize,
      ]);
      const a = ckpt.vit.read('vision_model.embeddings.patch_embedding.weight');
      const b = ckpt.main.read('model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight');
      assert.notDeepEqual(Array.from(a.subarray(0, 16)), Array.from(b.subarray(0, 16)));
    } finally {
      ckpt.close();
    }
  });

  test('deterministic per seed; different seeds differ; fp32 single-file layout', () => {
    const a = makeTinyCheckpoint({ out: join(root, 's1'), seed: 42, dtype: 'fp32', shards: 1 });
    const b = makeTinyCheckpoint({ out: join(root, 's2'), seed: 42, dtype: 'fp32', shards: 1 });
    const c = makeTinyCheckpoint({ out: join(root, 's3'), seed: 43, dtype: 'fp32', shards: 1 });
    assert.equal(sha(join(a, 'model.safetensors')), sha(join(b, 'model.safetensors')));
    assert.notEqual(sha(join(a, 'model.safetensors')), sha(join(c, 'model.safetensors')));
    const ckpt = openCheckpoint(a);
    assert.equal(ckpt.main.info('lm_head.weight').dtype, 'F32');
    ckpt.close();
  });
});
