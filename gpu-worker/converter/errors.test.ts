// The converter fails clearly (and leaves no half-written graphs) on broken checkpoints.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTinyCheckpoint, TOWER_DIR } from '../yi-vl/checkpoint/tiny.ts';
import { convertCheckpoint } from './convert.ts';

describe('converter error paths', () => {
  let root: string;
  let pristine: string;
  let n = 0;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-errors-'));
    pristine = makeTinyCheckpoint({ out: join(root, 'pristine'), dtype: 'bf16', seed: 9 });
  });
  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A fresh copy of the checkpoint, modified by `mutate`. */
  function variant(mutate: (dir: string) => void): string {
    const dir = join(root, `v${n++}`);
    cpSync(pristine, dir, { recursive: true });
    mutate(dir);
    return dir;
  }
  const editJson = (path: string, edit: (j: Record<string, unknown>) => void) => {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    edit(j);
    writeFileSync(path, JSON.stringify(j));
  };
  const convert = (checkpoint: string, out = join(root, `out${n++}`)) =>
    convertCheckpoint({ checkpoint, out, dtype: 'fp32' });

  test('missing checkpoint folder', async () => {
    await assert.rejects(convert(join(root, 'nope')), /checkpoint folder not found/);
  });

  test('missing config.json', async () => {
    await assert.rejects(convert(variant((d) => rmSync(join(d, 'config.json')))), /missing file: .*config\.json/);
  });

  test('unknown projector type', async () => {
    const dir = variant((d) => editJson(join(d, 'config.json'), (j) => (j.mm_projector_type = 'mlp2x_gelu')));
    await assert.rejects(convert(dir), /unknown mm_projector_type "mlp2x_gelu" \(supported: mlp2x_gelu_Norm\)/);
  });

  test('shape mismatch between config and weights; no graph files left behind', async () => {
    const dir = variant((d) => editJson(join(d, 'config.json'), (j) => (j.intermediate_size = 256)));
    const out = join(root, 'mismatch-out');
    await assert.rejects(
      convert(dir, out),
      /shape mismatch for model\.layers\.0\.mlp\.gate_proj\.weight: checkpoint has \[128, 64\], config implies \[256, 64\]/,
    );
    assert.ok(!existsSync(out) || readdirSync(out).length === 0);
  });

  test('missing vit/ folder', async () => {
    await assert.rejects(
      convert(variant((d) => rmSync(join(d, 'vit'), { recursive: true }))),
      /vision tower folder not found/,
    );
  });

  test('missing shard listed in the index', async () => {
    await assert.rejects(
      convert(variant((d) => rmSync(join(d, 'model-00002-of-00002.safetensors')))),
      /missing shard: .*model-00002-of-00002/,
    );
  });

  test('missing tokenizer.model', async () => {
    await assert.rejects(
      convert(variant((d) => rmSync(join(d, 'tokenizer.model')))),
      /missing file: .*tokenizer\.model/,
    );
  });

  test('a .bin that is not a zip-format PyTorch checkpoint (legacy or corrupt) is named in the error', async () => {
    const dir = variant((d) => {
      rmSync(join(d, 'model.safetensors.index.json'));
      for (const f of readdirSync(d)) {
        if (f.endsWith('.safetensors'))
          renameSync(join(d, f), join(d, f.replace(/^model/, 'pytorch_model').replace('.safetensors', '.bin')));
      }
    });
    await assert.rejects(convert(dir), /pytorch_model-00001-of-00002\.bin: not a zip-format PyTorch checkpoint/);
    const vitBin = variant((d) =>
      renameSync(join(d, TOWER_DIR, 'model.safetensors'), join(d, TOWER_DIR, 'pytorch_model.bin')),
    );
    await assert.rejects(convert(vitBin), /yi-vl-tiny-448\/pytorch_model\.bin: not a zip-format/);
  });

  test('a folder without weights', async () => {
    const dir = variant((d) =>
      renameSync(join(d, TOWER_DIR, 'model.safetensors'), join(d, TOWER_DIR, 'open_clip_pytorch_model.bin')),
    );
    await assert.rejects(convert(dir), /no weights found/);
  });

  test('unknown dtype', async () => {
    await assert.rejects(
      convertCheckpoint({ checkpoint: pristine, out: join(root, 'x'), dtype: 'int8' as 'fp32' }),
      /unknown dtype int8/,
    );
  });
});
