/**
 * The cheap checks every upload passes before any decoder sees it: byte cap → magic-byte sniff → header
 * dimensions against the pixel and per-side caps. A decompression bomb is refused here, having allocated nothing.
 */
import { ProblemError } from '../errors/problem.ts';
import { ACCEPTED_FORMATS_TEXT, describeRejected, sniffFormat } from './formats.ts';
import { HeaderError, type ImageHeader, readImageHeader } from './header.ts';
import type { ImageLimits } from './types.ts';

export function inspectUpload(bytes: Uint8Array, limits: ImageLimits): ImageHeader {
  if (bytes.length > limits.maxBytes) {
    throw new ProblemError(
      'payload_too_large',
      `The upload is ${bytes.length} bytes; the limit is ${limits.maxBytes}.`,
      { max_bytes: limits.maxBytes },
    );
  }
  if (bytes.length === 0) throw new ProblemError('image_corrupt', 'The upload is empty.');
  const format = sniffFormat(bytes);
  if (!format) {
    const seen = describeRejected(bytes);
    throw new ProblemError(
      'unsupported_media_type',
      `${seen ? `${seen} is not accepted. ` : 'The upload is not a recognised image. '}Accepted formats: ${ACCEPTED_FORMATS_TEXT}.`,
      { accepted: ACCEPTED_FORMATS_TEXT.split(', ') },
    );
  }
  let header: ImageHeader;
  try {
    header = readImageHeader(bytes, format);
  } catch (error) {
    if (error instanceof HeaderError || error instanceof RangeError) {
      throw new ProblemError('image_corrupt', `The ${format} header could not be read (${error.message}).`);
    }
    throw error;
  }
  const { width, height } = header;
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new ProblemError(
      'image_too_large',
      `The image is ${width}×${height}; the limits are ${limits.maxPixels} pixels and ${limits.maxSide} per side.`,
      { width, height, max_pixels: limits.maxPixels, max_side: limits.maxSide },
    );
  }
  return header;
}
