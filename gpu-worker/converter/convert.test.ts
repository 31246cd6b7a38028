// fp32 conversion of a tiny random checkpoint vs the independent float64 reference (real onnxruntime sessions).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Checkpoint, openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';
import { makeTinyCheckpoint } from '../yi-vl/checkpoint/tiny.ts';
import { ReferenceDecoder } from '../yi-vl/reference/decoder.ts';
import type { ReferenceModel, TensorSource } from '../yi-vl/reference/model.ts';
import { referenceImageFeatures } from '../yi-vl/reference/vision.ts';
import { convertCheckpoint, type Manifest, sha256File } from './convert.ts';
import { argmax, DecoderRunner, randomPixels, relErr, runEmbed, runVision } from './testing.ts';

const TOL = 1e-4;

describe('convert fp32 (tiny bf16 checkpoint, sharded)', () => {
  let root: string;
  let ckptDir: string;
  let outDir: string;
  let ckpt: Checkpoint;
  let manifest: Manifest;
  let refFeatures: Float64Array;
  let onnxFeatures: Float32Array;
  const pixels = randomPixels(7);

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-convert-'));
    ckptDir = makeTinyCheckpoint({ out: join(root, 'ckpt'), dtype: 'bf16', seed: 3 });
    outDir = join(root, 'out');
    manifest = await convertCheckpoint({ checkpoint: ckptDir, out: outDir, dtype: 'fp32' });
    ckpt = openCheckpoint(ckptDir);
    refFeatures = referenceImageFeatures(ckpt, pixels);
    onnxFeatures = await runVision(outDir, pixels);
  });
  after(() => {
    ckpt?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('manifest records dims, I/O names and correct sha256 of every file', async () => {
    assert.equal(manifest.format, 'yi-vl-onnx');
    assert.equal(manifest.dims.imageTokens, 1024);
    assert.equal(manifest.dims.vision.layersRun, 2);
    assert.equal(manifest.source.visionTowerPath, 'vit/clip-vit-H-14-laion2B-s32B-b79K-yi-vl-tiny-448');
    assert.equal(manifest.tokens.eos, 7);
    const dec = manifest.graphs.decoder;
    assert.deepEqual(
      dec.inputs.slice(0, 4).map((v) => v.name),
      ['inputs_embeds', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value'],
    );
    assert.deepEqual(
      dec.outputs.slice(0, 3).map((v) => v.name),
      ['logits', 'present.0.key', 'present.0.value'],
    );
    assert.deepEqual(dec.outputs[0]!.shape, ['batch', 1, 64000]);
    for (const f of ['vision.onnx', 'vision.onnx.data', 'decoder.onnx.data', 'embed_tokens.onnx', 'tokenizer.model']) {
      assert.equal(manifest.files[f]?.sha256, await sha256File(join(outDir, f)), f);
    }
    const onDisk = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(onDisk.files, manifest.files);
  });

  test('the in-graph decode loop is written by default and stores no second copy of the decoder weights', () => {
    const loop = manifest.graphs.decoderLoop!;
    assert.equal(loop.file, 'decoder_loop.onnx');
    assert.deepEqual(
      loop.inputs.slice(0, 4).map((v) => v.name),
      ['input_ids', 'past_length', 'max_steps', 'budgets'],
    );
    assert.equal(loop.outputs[0]!.name, 'tokens');
    for (const f of ['decoder_loop.onnx', 'decoder_loop.onnx.data']) assert.ok(manifest.files[f], f);
    // decoder.onnx's weights (and, fp32, the embedding table) are referenced in their files, not written again
    assert.ok(
      manifest.files['decoder_loop.onnx.data']!.bytes < manifest.files['decoder.onnx.data']!.bytes / 10,
      `decoder_loop.onnx.data: ${manifest.files['decoder_loop.onnx.data']!.bytes} bytes`,
    );
  });

  test(`vision features match the reference within ${TOL} relative`, () => {
    assert.equal(onnxFeatures.length, 1024 * manifest.dims.llm.hiddenSize);
    const err = relErr(onnxFeatures, refFeatures);
    assert.ok(err < TOL, `relative error ${err}`);
  });

  test('features come from vit/, not from the in-shard vision copy', () => {
    const prefix = 'model.vision_tower.vision_tower.';
    const inShard: TensorSource = {
      read: (n) => ckpt.main.read(prefix + n),
      info: (n) => ckpt.main.info(prefix + n),
    };
    assert.ok(ckpt.main.has(`${prefix}vision_model.embeddings.patch_embedding.weight`));
    const wrong = referenceImageFeatures(
      { config: ckpt.config, main: ckpt.main, vit: inShard } satisfies ReferenceModel,
      pixels,
    );
    assert.ok(relErr(onnxFeatures, wrong) > 0.1, 'in-shard copy should give clearly different features');
  });

  test('vision runs a batch of 2 with per-image results', async () => {
    const other = randomPixels(8);
    const both = new Float32Array(pixels.length * 2);
    both.set(pixels);
    both.set(other, pixels.length);
    const out = await runVision(outDir, both, 2);
    assert.ok(relErr(out.subarray(0, onnxFeatures.length), onnxFeatures) < 1e-6);
    assert.ok(relErr(out.subarray(onnxFeatures.length), onnxFeatures) > 0.1);
  });

  test('embed_tokens equals the checkpoint rows', async () => {
    const ref = new ReferenceDecoder(ckpt);
    const ids = [0, 1, 7, 63999, 12345];
    const out = await runEmbed(outDir, ids);
    assert.deepEqual(Array.from(out), Array.from(ref.embed(ids)));
  });

  test(`prefill with a spliced image and cached decode match the reference within ${TOL}; cache == recompute`, async () => {
    const H = manifest.dims.llm.hiddenSize;
    const ref = new ReferenceDecoder(ckpt);
    const before = [100, 2000, 333, 59568, 7];
    const afterIds = [144, 4000, 8];
    // Splice like the pipeline: embed(before) ++ image features ++ embed(after); ONNX side from its own graphs.
    const onnxPrefill = new Float32Array((before.length + 1024 + afterIds.length) * H);
    onnxPrefill.set(await runEmbed(outDir, before));
    onnxPrefill.set(onnxFeatures, before.length * H);
    onnxPrefill.set(await runEmbed(outDir, afterIds), (before.length + 1024) * H);
    const refPrefill = new Float64Array(onnxPrefill.length);
    refPrefill.set(ref.embed(before));
    refPrefill.set(refFeatures, before.length * H);
    refPrefill.set(ref.embed(afterIds), (before.length + 1024) * H);

    const maxLen = 1100;
    const cached = await DecoderRunner.open(outDir, manifest, maxLen);
    const fresh = await DecoderRunner.open(outDir, manifest, maxLen);
    const refCache = ref.newCache();
    let onnxLogits = await cached.step(onnxPrefill);
    let refLogits = ref.forward(refPrefill, refCache);
    let err = relErr(onnxLogits, refLogits);
    assert.ok(err < TOL, `prefill logits relative error ${err}`);
    let seq = onnxPrefill;
    let refSeq = refPrefill;
    for (let step = 0; step < 2; step++) {
      const next = argmax(refLogits);
      assert.equal(argmax(onnxLogits), next, `step ${step}: greedy token differs`);
      const e = await runEmbed(outDir, [next]);
      onnxLogits = await cached.step(e);
      const refE = ref.embed([next]);
      refLogits = ref.forward(refE, refCache);
      err = relErr(onnxLogits, refLogits);
      assert.ok(err < TOL, `step ${step}: cached logits relative error ${err}`);
      // Full recompute of the whole sequence with an empty cache gives the same logits.
      const grown = new Float32Array(seq.length + H);
      grown.set(seq);
      grown.set(e, seq.length);
      seq = grown;
      fresh.reset();
      const full = await fresh.step(seq);
      const diff = relErr(onnxLogits, full);
      assert.ok(diff < 1e-5, `step ${step}: cached vs recompute ${diff}`);
      const refGrown = new Float64Array(refSeq.length + H);
      refGrown.set(refSeq);
      refGrown.set(refE, refSeq.length);
      refSeq = refGrown;
      assert.ok(relErr(ref.forward(refSeq), refLogits) < 1e-9, 'reference cache == recompute');
    }
    assert.equal(cached.length, before.length + 1024 + afterIds.length + 2);
    await cached.close();
    await fresh.close();
  });

  test('prefill in two chunks (cached prefix reuse) equals one prefill', async () => {
    const ref = new ReferenceDecoder(ckpt);
    const ids = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const emb = await runEmbed(outDir, ids);
    const H = manifest.dims.llm.hiddenSize;
    const a = await DecoderRunner.open(outDir, manifest, 64);
    await a.step(emb.slice(0, 6 * H));
    const chunked = await a.step(emb.slice(6 * H));
    const whole = ref.forward(ref.embed(ids));
    const err = relErr(chunked, whole);
    assert.ok(err < TOL, `chunked prefill relative error ${err}`);
    await a.close();
  });
});
