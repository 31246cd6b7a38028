import type { ImageFormat } from './formats.ts';

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
  maxSide: number;
}

/** The upload turned into Yi-VL's input, plus what the job record keeps about the original. */
export interface PreparedImage {
  /** 448×448 RGB PNG. */
  png: Uint8Array;
  format: ImageFormat;
  /** After EXIF orientation. */
  width: number;
  height: number;
  bytes: number;
  sha256: string;
  modelWidth: number;
  modelHeight: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxSide: 16_384,
};
