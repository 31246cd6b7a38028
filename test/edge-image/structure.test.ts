/**
 * The structural checks alone (no decoder): every damaged file of damaged-corpus.ts is refused by the intake checks
 * every runtime runs, including the streamed check of PNG image data, and every quirky one passes them. This is the
 * verdict a Workers edge gives for images it stores for the worker to decode.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { ProblemError } from '../../shared/errors/problem.ts';
import { checkCompressedData, inspectUpload } from '../../shared/image/intake.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { damagedJpegs, damagedPngs } from './damaged-corpus.ts';

async function verdict(bytes: Uint8Array): Promise<string> {
  try {
    await checkCompressedData(bytes, inspectUpload(bytes, DEFAULT_IMAGE_LIMITS));
    return 'accepted';
  } catch (error) {
    if (error instanceof ProblemError) return error.code;
    throw error;
  }
}

describe('structural checks without decoding', async () => {
  const width = 120;
  const height = 80;
  const raw = new Uint8Array(width * height * 3).map((_, i) => (i * 7 + (i >> 9)) & 255);
  const image = sharp(raw, { raw: { width, height, channels: 3 } });
  const png = new Uint8Array(await image.clone().png().toBuffer());
  const jpeg = new Uint8Array(await image.clone().jpeg({ quality: 90 }).toBuffer());
  const progressive = new Uint8Array(await image.clone().jpeg({ progressive: true }).toBuffer());
  const interlaced = new Uint8Array(await image.clone().png({ progressive: true }).toBuffer());
  const sets = [damagedPngs(png, raw, width, height), damagedJpegs(jpeg)];

  for (const c of sets.flatMap((s) => s.refused)) {
    test(`refuses: ${c.name}`, async () => assert.equal(await verdict(c.bytes), 'image_corrupt'));
  }
  for (const c of sets.flatMap((s) => s.quirky)) {
    test(`accepts: ${c.name}`, async () => assert.equal(await verdict(c.bytes), 'accepted'));
  }
  test('accepts progressive JPEG, interlaced PNG and the undamaged files', async () => {
    for (const bytes of [png, jpeg, progressive, interlaced]) assert.equal(await verdict(bytes), 'accepted');
  });
});
