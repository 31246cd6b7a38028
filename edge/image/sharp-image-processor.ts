/** The ImageProcessor for Node and Lambda: sharp (libvips). */
import { preprocessForYiVl } from '../../shared/image/sharp-preprocess.ts';
import type { ImageLimits, ImageProcessor, PreparedImage } from './image-processor.ts';

export class SharpImageProcessor implements ImageProcessor {
  prepare(upload: Uint8Array, limits: ImageLimits): Promise<PreparedImage> {
    return preprocessForYiVl(upload, limits);
  }
}
