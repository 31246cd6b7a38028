/**
 * The ImageProcessor for Cloudflare Workers without an Images binding: the shared intake and structural checks, WASM
 * decoding, then orientation, alpha flattening, padding and the bit-exact PIL bicubic resize in plain TypeScript, and
 * a PNG written with CompressionStream. No sharp, no Node APIs.
 *
 * Images over the isolate's decode budget, and animated WebPs (the WASM codec reads stills only), are not refused:
 * they pass the same checks and go to the job as uploaded (a DeferredImage) for the worker to prepare exactly as the
 * Node edge would. Which images the API accepts does not depend on where the edge runs.
 */

import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { jpegHasEndMarker } from '../../shared/image/header.ts';
import { checkCompressedData, inspectUpload } from '../../shared/image/intake.ts';
import { rgbaToOrientedRgb } from '../../shared/image/orient.ts';
import { encodePngRgb } from '../../shared/image/png-encode.ts';
import { padAndResize, YI_VL_PAD_RGB, YI_VL_SIZE } from '../../shared/image/yi-vl-resize.ts';
import {
  acceptedUpload,
  type DeferredImage,
  type ImageLimits,
  type ImageProcessor,
  type PreparedImage,
} from './image-processor.ts';
import { decodeRgba, initWasmCodecs, type Rgba, type WasmCodecModules } from './wasm-decoders.ts';

/**
 * The largest image decoded in the isolate. Decoding costs ~11 bytes per pixel (RGBA in the WASM heap, its JS copy,
 * the RGB image) on top of the upload, and an isolate has 128 MB: 6 MP keeps a worst case near 100 MB (measured
 * figures in docs/reliability.md). Larger images are deferred to the worker.
 */
export const WASM_DEFAULT_MAX_PIXELS = 6_000_000;

/** VP8X with the animation flag: libwebp's still-image decoder (the WASM codec) refuses these. */
function isAnimatedWebp(bytes: Uint8Array): boolean {
  return String.fromCharCode(...bytes.subarray(12, 16)) === 'VP8X' && (bytes[20]! & 0x02) !== 0;
}

export class WasmImageProcessor implements ImageProcessor {
  private readonly maxPixels: number;

  constructor(
    private readonly modules: WasmCodecModules,
    options: { maxPixels?: number } = {},
  ) {
    this.maxPixels = options.maxPixels ?? WASM_DEFAULT_MAX_PIXELS;
  }

  async prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage | DeferredImage> {
    const header = inspectUpload(upload, limits);
    if (header.format === 'jpeg' && !jpegHasEndMarker(upload)) {
      throw new ProblemError('image_corrupt', 'The jpeg image is truncated (no end-of-image marker).');
    }
    await checkCompressedData(upload, header);
    if (header.width * header.height > this.maxPixels || (header.format === 'webp' && isAnimatedWebp(upload))) {
      return acceptedUpload(upload, header, null);
    }
    await initWasmCodecs(this.modules);
    let decoded: Rgba;
    try {
      decoded = await decodeRgba(header.format, upload);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ProblemError(
        'image_corrupt',
        `The ${header.format} image could not be decoded (${message.slice(0, 120)}).`,
      );
    }
    if (decoded.width !== header.width || decoded.height !== header.height) {
      throw new ProblemError(
        'image_corrupt',
        `The ${header.format} header says ${header.width}×${header.height} but the image decodes to ${decoded.width}×${decoded.height}.`,
      );
    }
    const rgb = rgbaToOrientedRgb(decoded.data, decoded.width, decoded.height, header.orientation, YI_VL_PAD_RGB);
    decoded.data = new Uint8Array(0); // let the RGBA copy go before the resize allocates
    const square = padAndResize(rgb.data, rgb.width, rgb.height);
    const [png, sha256] = await Promise.all([encodePngRgb(square, YI_VL_SIZE, YI_VL_SIZE), sha256Hex(upload)]);
    return {
      png,
      format: header.format,
      width: rgb.width,
      height: rgb.height,
      bytes: upload.length,
      sha256,
      modelWidth: YI_VL_SIZE,
      modelHeight: YI_VL_SIZE,
    };
  }
}
