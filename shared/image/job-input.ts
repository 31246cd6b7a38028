import type { JobInput } from '../schemas/job.ts';
import type { PreparedImage } from './types.ts';

/** The job's record of its image: where it is stored and what the upload and the model input measured. */
export function jobInputOf(source: JobInput['source'], key: string, image: Omit<PreparedImage, 'png'>): JobInput {
  return {
    source,
    key,
    format: image.format,
    width: image.width,
    height: image.height,
    bytes: image.bytes,
    sha256: image.sha256,
    model_width: image.modelWidth,
    model_height: image.modelHeight,
  };
}
