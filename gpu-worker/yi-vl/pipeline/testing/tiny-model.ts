// Test fixture: a tiny random Yi-VL checkpoint converted to ONNX in a temp folder, made once per process.
import { closeSync, mkdtempSync, openSync, readSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCheckpoint } from '../../../converter/convert.ts';
import { SafetensorsFile } from '../../checkpoint/safetensors.ts';
import { makeTinyCheckpoint } from '../../checkpoint/tiny.ts';

export interface TinyModel {
  checkpointDir: string;
  modelDir: string;
}

let cached: Promise<TinyModel> | undefined;

export function tinyModel(): Promise<TinyModel> {
  cached ??= (async () => {
    const root = mkdtempSync(join(tmpdir(), 'yi-vl-pipeline-'));
    const checkpointDir = makeTinyCheckpoint({ out: join(root, 'checkpoint'), seed: 3 });
    const modelDir = join(root, 'onnx');
    await convertCheckpoint({ checkpoint: checkpointDir, out: modelDir, dtype: 'fp32' });
    return { checkpointDir, modelDir };
  })();
  return cached;
}

/** Deterministic, structured 448×448 RGB test image. */
export function testImageRgb(seed = 1): Uint8Array {
  const rgb = new Uint8Array(448 * 448 * 3);
  for (let y = 0; y < 448; y++) {
    for (let x = 0; x < 448; x++) {
      const i = (y * 448 + x) * 3;
      rgb[i] = (x * seed + y) & 255;
      rgb[i + 1] = (y * 3 + seed * 17) & 255;
      rgb[i + 2] = ((x ^ y) + seed) & 255;
    }
  }
  return rgb;
}

/**
 * Copies lm_head row `from` (scaled) over row `to` in a single-file fp32 tiny checkpoint, in place: wherever `from`
 * was the greedy choice, `to` now wins. Lets tests force a chosen token (e.g. "###") out of a random model.
 */
export function patchLmHeadRow(checkpointDir: string, from: number, to: number, scale = 1.5): void {
  const path = join(checkpointDir, 'model.safetensors');
  const file = new SafetensorsFile(path);
  const info = file.tensors.get('lm_head.weight');
  file.close();
  if (info?.dtype !== 'F32') throw new Error(`${path}: fp32 lm_head.weight expected`);
  const H = info.shape[1]!;
  const fd = openSync(path, 'r+');
  try {
    const row = Buffer.alloc(H * 4);
    readSync(fd, row, 0, row.length, info.offset + from * H * 4);
    for (let i = 0; i < H; i++) row.writeFloatLE(row.readFloatLE(i * 4) * scale, i * 4);
    writeSync(fd, row, 0, row.length, info.offset + to * H * 4);
  } finally {
    closeSync(fd);
  }
}

/** A fresh fp32 single-file tiny checkpoint plus its conversion (for tests that patch weights). */
export async function freshTinyModel(seed: number, dtype: 'fp32' | 'fp16' = 'fp32'): Promise<TinyModel> {
  const root = mkdtempSync(join(tmpdir(), 'yi-vl-pipeline-'));
  const checkpointDir = makeTinyCheckpoint({ out: join(root, 'checkpoint'), seed, dtype: 'fp32', shards: 1 });
  const modelDir = join(root, 'onnx');
  await convertCheckpoint({ checkpoint: checkpointDir, out: modelDir, dtype });
  return { checkpointDir, modelDir };
}

export async function reconvert(m: TinyModel, dtype: 'fp32' | 'fp16' = 'fp32'): Promise<void> {
  await convertCheckpoint({ checkpoint: m.checkpointDir, out: m.modelDir, dtype });
}
