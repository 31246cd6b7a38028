// Image bytes → 8-bit RGB pixels with sharp, EXIF-oriented. Alpha is dropped, not composited (PIL convert("RGB")).
import sharp from 'sharp';
import { InputInvalidError } from '../../analyzer-errors.ts';
import { IMAGE_SIZE } from './clip-normalize.ts';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The image is not one the pipeline can take: the job's stored input is bad, so it fails without a retry. */
export class ImageInputError extends InputInvalidError {
  override name = 'ImageInputError';
}

export async function decodeToRgb(bytes: Uint8Array): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { failOn: 'error' })
      .rotate() // EXIF orientation, as the edge applies it
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new ImageInputError(`expected 3 channels after conversion, got ${info.channels}`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    if (err instanceof ImageInputError) throw err;
    throw new ImageInputError(`cannot decode image: ${(err as Error).message}`);
  }
}

/** The worker's input contract: an already preprocessed 448×448 image (PNG from the edge). */
export async function decode448(bytes: Uint8Array): Promise<Uint8Array> {
  const img = await decodeToRgb(bytes);
  if (img.width !== IMAGE_SIZE || img.height !== IMAGE_SIZE) {
    throw new ImageInputError(`expected a ${IMAGE_SIZE}×${IMAGE_SIZE} image, got ${img.width}×${img.height}`);
  }
  return img.data;
}
