// The CLI's `--reference-intake` reproduces 01.AI's reference intake (PIL: no EXIF orientation, alpha dropped with
// the colour under it kept, ICC profile ignored, pad, bicubic) bit for bit; the product intake deliberately differs.
// expected.json holds Pillow's output for each image (reference-intake/pil_reference.py wrote it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { preprocessForYiVl } from '../../shared/image/sharp-preprocess.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';

const dir = join(import.meta.dirname, 'reference-intake');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
  sha256_of_448x448_rgb: Record<string, string>;
};

async function rgbSha256(png: Uint8Array): Promise<string> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [448, 448, 3]);
  return createHash('sha256').update(data).digest('hex');
}

describe('reference intake', () => {
  for (const [name, sha256] of Object.entries(expected.sha256_of_448x448_rgb)) {
    it(`${name}: equals Pillow's reference pipeline bit for bit`, async () => {
      const upload = readFileSync(join(dir, name));
      const prepared = await preprocessForYiVl(upload, DEFAULT_IMAGE_LIMITS, { intake: 'reference' });
      assert.equal(await rgbSha256(prepared.png), sha256);
    });
    it(`${name}: the product intake differs from it (orientation, transparency or colour profile applied)`, async () => {
      const upload = readFileSync(join(dir, name));
      const prepared = await preprocessForYiVl(upload, DEFAULT_IMAGE_LIMITS, { exact: true });
      assert.notEqual(await rgbSha256(prepared.png), sha256);
    });
  }
});
