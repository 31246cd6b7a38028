/**
 * The port between the edge app and whatever turns an upload into Yi-VL's 448×448 input.
 * Node/Lambda use sharp; Workers use the Cloudflare Images binding or a WebAssembly codec set.
 * The types live in shared/image (the GPU worker's CLI prepares images the same way).
 */
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import type { ImageHeader } from '../../shared/image/header.ts';
import type { DeferredImage, ImageLimits, PreparedImage } from '../../shared/image/types.ts';
import { YI_VL_SIZE } from '../../shared/image/yi-vl-resize.ts';

export type { DeferredImage, ImageLimits, PreparedImage };

export interface ImageProcessor {
  /**
   * Throws ProblemError: unsupported_media_type 415 (detail lists accepted formats), image_too_large 422,
   * image_corrupt 422, payload_too_large 413. A processor that cannot decode a valid upload within its runtime's
   * limits returns it as a DeferredImage (validated, not decoded) for the worker to prepare.
   */
  prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage | DeferredImage>;
}

/** What the edge records of an accepted upload, with its content: the model-input PNG, or the upload deferred. */
export async function acceptedUpload(upload: Uint8Array, header: ImageHeader, png: Uint8Array): Promise<PreparedImage>;
export async function acceptedUpload(upload: Uint8Array, header: ImageHeader, png: null): Promise<DeferredImage>;
export async function acceptedUpload(
  upload: Uint8Array,
  header: ImageHeader,
  png: Uint8Array | null,
): Promise<PreparedImage | DeferredImage> {
  const described = {
    format: header.format,
    width: header.orientedWidth,
    height: header.orientedHeight,
    bytes: upload.length,
    sha256: await sha256Hex(upload),
    modelWidth: YI_VL_SIZE,
    modelHeight: YI_VL_SIZE,
  };
  return png ? { ...described, png } : { ...described, original: upload };
}
