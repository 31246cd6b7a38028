import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { argmax } from '../gpu-worker/yi-vl/generation/sampler.ts';
import { tinyModel } from '../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';

const CLI = fileURLToPath(new URL('./yi-vl.ts', import.meta.url));
const run = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('scripts/yi-vl.ts generate', () => {
  test('--json and --logits-out on a tiny model, with a non-square image', async () => {
    const { modelDir } = await tinyModel();
    const dir = mkdtempSync(join(tmpdir(), 'yi-vl-cli-'));
    const image = join(dir, 'wide.png');
    await sharp({ create: { width: 300, height: 120, channels: 3, background: '#336699' } })
      .png()
      .toFile(image);
    const logits = join(dir, 'logits.f32');
    const r = run([
      'generate',
      '--model',
      modelDir,
      '--image',
      image,
      '--prompt',
      'What is this?',
      '--device',
      'cpu',
      '--temperature',
      '0',
      '--max-new-tokens',
      '5',
      '--json',
      '--logits-out',
      logits,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    const promptIds = out.prompt_token_ids as number[];
    const outputIds = out.output_token_ids as number[];
    assert.equal(promptIds.filter((id) => id === -200).length, 1);
    assert.equal(outputIds.length, 5);
    assert.equal(out.finish_reason, 'length');
    assert.equal(typeof out.text, 'string');
    assert.equal(typeof (out.timings as Record<string, number>).prefill_ms, 'number');
    const bytes = readFileSync(logits);
    assert.equal(bytes.length, 64000 * 4);
    const l = new Float32Array(64000);
    for (let i = 0; i < l.length; i++) l[i] = bytes.readFloatLE(i * 4);
    assert.equal(argmax(l), outputIds[0], 'greedy first token is the argmax of the written logits');
  });

  test("--reference-intake feeds the model the reference script's 448×448 pixels", async () => {
    const { modelDir } = await tinyModel();
    const refDir = fileURLToPath(new URL('../test/edge-image/reference-intake/', import.meta.url));
    const expected = JSON.parse(readFileSync(join(refDir, 'expected.json'), 'utf8')).sha256_of_448x448_rgb;
    const image = join(refDir, 'orientation-6.jpg');
    const args = ['generate', '--model', modelDir, '--image', image, '--prompt', 'Hi', '--device', 'cpu'];
    const common = [...args, '--temperature', '0', '--max-new-tokens', '1', '--json'];
    const reference = run([...common, '--reference-intake']);
    assert.equal(reference.status, 0, reference.stderr);
    assert.equal(JSON.parse(reference.stdout).model_input_sha256, expected['orientation-6.jpg']);
    const product = run(common);
    assert.equal(product.status, 0, product.stderr);
    assert.notEqual(JSON.parse(product.stdout).model_input_sha256, expected['orientation-6.jpg']);
  });

  test('usage errors exit with 2 and say what is wrong', () => {
    const r = run(['generate', '--model', '/nowhere']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--model, --image and --prompt are required/);
    const h = run(['generate', '--model', 'm', '--image', 'i', '--prompt', 'p', '--history', '[1]']);
    assert.equal(h.status, 2);
    assert.match(h.stderr, /--history/);
  });
});
