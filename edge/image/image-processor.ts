/**
 * The port between the edge app and whatever turns an upload into Yi-VL's 448×448 input.
 * Node/Lambda use sharp; Workers use the Cloudflare Images binding or a WebAssembly codec set.
 * The types live in shared/image (the GPU worker's CLI prepares images the same way).
 */
import type { DeferredImage, ImageLimits, PreparedImage } from '../../shared/image/types.ts';

export type { DeferredImage, ImageLimits, PreparedImage };

export interface ImageProcessor {
  /**
   * Throws ProblemError: unsupported_media_type 415 (detail lists accepted formats), image_too_large 422,
   * image_corrupt 422, payload_too_large 413. A processor that cannot decode a valid upload within its runtime's
   * limits returns it as a DeferredImage (validated, not decoded) for the worker to prepare.
   */
  prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage | DeferredImage>;
}
