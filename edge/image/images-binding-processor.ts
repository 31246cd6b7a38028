import { readImageHeader } from '../../shared/image/header.ts';
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
import { decodePngRgba, initPngCodec } from './wasm-decoders.ts';

/** The structural subset of Cloudflare's `ImagesBinding` this adapter uses. */
export interface ImagesBindingLike {
  input(stream: ReadableStream<Uint8Array>): {
    transform(options: Record<string, unknown>): {
      output(options: { format: string }): Promise<{ response(): Response }>;
    };
  };
}

export class ImagesBindingProcessor implements ImageProcessor {
  constructor(
    private readonly images: ImagesBindingLike,
    private readonly pngWasm: WebAssembly.Module,
  ) {}

  async prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage | DeferredImage> {
    const header = inspectUpload(upload, limits);
    await checkCompressedData(upload, header);
    let out: Awaited<ReturnType<typeof decodePngRgba>>;
    try {
      const result = await this.images
        .input(new Blob([upload as Uint8Array<ArrayBuffer>]).stream())
        .transform({
          width: YI_VL_SIZE,
          height: YI_VL_SIZE,
          fit: 'pad',
          background: `rgb(${YI_VL_PAD_RGB.join(',')})`,
        })
        .output({ format: 'image/png' });
      const transformed = new Uint8Array(await result.response().arrayBuffer());
      // Normalising a small off-size result is cheap; a full-size one (a binding that ignored the resize) is not.
      const made = readImageHeader(transformed, 'png');
      if (made.width * made.height > 4 * YI_VL_SIZE * YI_VL_SIZE) throw new Error('the binding did not resize');
      await initPngCodec(this.pngWasm);
      out = await decodePngRgba(transformed);
    } catch {
      // The upload passed every check the other runtimes apply; a binding stricter than they are (or failing) must
      // not change what the API accepts, so the worker prepares it, as the Node edge would.
      return acceptedUpload(upload, header, null);
    }
    const rgb = rgbaToOrientedRgb(out.data, out.width, out.height, 1, YI_VL_PAD_RGB);
    const square =
      rgb.width === YI_VL_SIZE && rgb.height === YI_VL_SIZE ? rgb.data : padAndResize(rgb.data, rgb.width, rgb.height);
    const png = await encodePngRgb(square, YI_VL_SIZE, YI_VL_SIZE);
    return acceptedUpload(upload, header, png);
  }
}
