/**
 * The cheap checks every upload passes before any decoder sees it: byte cap → magic-byte sniff → header
 * dimensions against the pixel and per-side caps → structure (PNG chunks and CRCs, JPEG marker segments and tables).
 * A decompression bomb is refused here, having allocated nothing, and every runtime refuses the same damaged files.
 */
import { ProblemError } from '../errors/problem.ts';
import { ACCEPTED_FORMATS_TEXT, describeRejected, sniffFormat } from './formats.ts';
import { HeaderError, type ImageHeader, readImageHeader } from './header.ts';
import { StructureError } from './header-error.ts';
import { checkJpegStructure } from './jpeg-structure.ts';
import { checkPngChunks, checkPngImageData } from './png-structure.ts';
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
  try {
    if (format === 'png') checkPngChunks(bytes);
    else if (format === 'jpeg') checkJpegStructure(bytes);
  } catch (error) {
    throw damaged(format, error);
  }
  return header;
}

function damaged(format: string, error: unknown): unknown {
  if (error instanceof StructureError)
    return new ProblemError('image_corrupt', `The ${format} file is damaged: ${error.message}.`);
  return error;
}

/**
 * The PNG's compressed image data, inflated as a stream and dropped: for runtimes whose decoder skips the zlib
 * checksum (the WebAssembly PNG codec) or that store the upload without decoding it. About the CPU of an inflate;
 * memory stays at one chunk. Other formats need nothing here.
 */
export async function checkCompressedData(bytes: Uint8Array, header: ImageHeader): Promise<void> {
  if (header.format !== 'png') return;
  try {
    await checkPngImageData(bytes, checkPngChunks(bytes));
  } catch (error) {
    throw damaged('png', error);
  }
}
