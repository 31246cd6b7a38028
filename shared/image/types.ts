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

/**
 * An upload the edge validated (intake and structural checks) but did not decode, because decoding it would not fit
 * the runtime (a Workers isolate's memory, an animated WebP its codec cannot read). The job stores the upload as
 * sent (`prepared_by: 'worker'`) and the worker turns it into the model input with the same sharp preprocessing the
 * Node edge uses (shared/image/deferred-input.ts), so the model sees the same pixels whichever edge took the job.
 */
export interface DeferredImage extends Omit<PreparedImage, 'png'> {
  png?: undefined;
  /** The upload, byte for byte. */
  original: Uint8Array;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxSide: 16_384,
};
