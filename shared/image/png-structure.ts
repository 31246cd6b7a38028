/**
 * PNG structure checks that give every runtime the verdict of the reference decoders (Pillow, libpng) without
 * decoding pixels. `checkPngChunks` walks the chunks (lengths, CRCs, IHDR fields, the chunks a decoder needs);
 * `checkPngImageData` inflates the image data as a stream, keeping one chunk of output at a time, and checks the
 * zlib stream (Adler-32 included), the filter byte of every row and the exact amount of data.
 * Runtime-neutral: plain typed arrays and the Web `DecompressionStream`.
 */
import { crc32 } from './crc32.ts';
import { StructureError } from './header-error.ts';

export interface PngLayout {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  interlaced: boolean;
  /** Byte ranges of the IDAT payloads, in order. */
  idat: { start: number; end: number }[];
}

const KNOWN_CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
/** Allowed bit depths per colour type (PNG spec table 11.1). */
const BIT_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * Throws StructureError for a PNG that Pillow or libpng refuses: a chunk running past the end of the file, a bad CRC
 * in a critical chunk or in any chunk before the image data (Pillow checks those; both skip ancillary chunks after
 * it), invalid IHDR fields, an unknown critical chunk, a palette image without PLTE, no IDAT, or no IEND.
 */
export function checkPngChunks(bytes: Uint8Array): PngLayout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let layout: PngLayout | undefined;
  let palette = false;
  let p = 8;
  for (;;) {
    if (p + 12 > bytes.length) throw new StructureError('the file ends before IEND (truncated)');
    const length = view.getUint32(p);
    if (length > 0x7fffffff) throw new StructureError('a chunk length is out of range');
    const typeBytes = bytes.subarray(p + 4, p + 8);
    if (!typeBytes.every(isLetter)) throw new StructureError('a chunk type is not four letters (wrong chunk length?)');
    const type = String.fromCharCode(...typeBytes);
    const end = p + 8 + length;
    if (end + 4 > bytes.length) throw new StructureError(`the ${type} chunk runs past the end of the file`);
    const critical = (typeBytes[0]! & 0x20) === 0;
    if ((critical || !layout?.idat.length) && crc32(bytes.subarray(p + 4, end)) !== view.getUint32(end)) {
      throw new StructureError(`the ${type} chunk fails its CRC check`);
    }
    if (critical && !KNOWN_CRITICAL.has(type)) throw new StructureError(`unknown critical chunk ${type}`);
    if (!layout) {
      if (type !== 'IHDR' || length !== 13) throw new StructureError('the first chunk is not a 13-byte IHDR');
      layout = readIhdr(bytes.subarray(p + 8, end));
    } else if (type === 'IHDR') {
      throw new StructureError('a second IHDR chunk');
    } else if (type === 'PLTE') {
      if (length === 0 || length % 3 !== 0 || length > 768) throw new StructureError('PLTE has an invalid length');
      palette = true;
    } else if (type === 'IDAT') {
      if (layout.colourType === 3 && !palette) throw new StructureError('a palette image without PLTE before IDAT');
      layout.idat.push({ start: p + 8, end });
    } else if (type === 'IEND') {
      if (!layout.idat.length) throw new StructureError('no IDAT chunk');
      return layout;
    }
    p = end + 4;
  }
}

function readIhdr(ihdr: Uint8Array): PngLayout {
  const view = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
  const [bitDepth, colourType, compression, filter, interlace] = ihdr.subarray(8, 13);
  if (!BIT_DEPTHS[colourType!]?.includes(bitDepth!)) {
    throw new StructureError(`IHDR colour type ${colourType} with bit depth ${bitDepth}`);
  }
  if (compression !== 0 || filter !== 0 || interlace! > 1) {
    throw new StructureError('IHDR compression, filter or interlace method is not defined');
  }
  return {
    width: view.getUint32(0),
    height: view.getUint32(4),
    bitDepth: bitDepth!,
    colourType: colourType!,
    interlaced: interlace === 1,
    idat: [],
  };
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Rows of the filtered image data: [bytes per row including the filter byte, row count] per (pass) image. */
function rowRuns(layout: PngLayout): [number, number][] {
  const bitsPerPixel = CHANNELS[layout.colourType]! * layout.bitDepth;
  const rowBytes = (w: number) => 1 + Math.ceil((w * bitsPerPixel) / 8);
  if (!layout.interlaced) return [[rowBytes(layout.width), layout.height]];
  const runs: [number, number][] = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((layout.width - x0) / dx);
    const h = Math.ceil((layout.height - y0) / dy);
    if (w > 0 && h > 0) runs.push([rowBytes(w), h]);
  }
  return runs;
}

/**
 * Inflates the IDAT data without keeping it, and throws StructureError unless it is one valid zlib stream holding
 * at least the rows IHDR calls for, each with a defined filter type. Catches what a chunk walk cannot: corrupt
 * deflate data, a wrong Adler-32, too little data, bad filter bytes.
 */
export async function checkPngImageData(bytes: Uint8Array, layout: PngLayout): Promise<void> {
  const runs = rowRuns(layout);
  const expected = runs.reduce((n, [rowBytes, rows]) => n + rowBytes * rows, 0);
  let i = 0;
  const source = new ReadableStream<BufferSource>({
    pull(controller) {
      const range = layout.idat[i++];
      if (range) controller.enqueue(bytes.subarray(range.start, range.end) as Uint8Array<ArrayBuffer>);
      else controller.close();
    },
  });
  const reader = source.pipeThrough(new DecompressionStream('deflate')).getReader();
  let seen = 0;
  let run = 0;
  let nextRow = 0; // offset of the next filter byte
  let runEnd = runs[0]![0] * runs[0]![1];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunkStart = seen;
      seen += value.length;
      // Data past the last row is ignored, as libpng and Pillow ignore it; the stream is still read to its checksum.
      while (nextRow < seen && nextRow < expected) {
        if (value[nextRow - chunkStart]! > 4) throw new StructureError('a row has an undefined filter type');
        nextRow += runs[run]![0];
        if (nextRow >= runEnd && ++run < runs.length) runEnd += runs[run]![0] * runs[run]![1];
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof StructureError) throw error;
    throw new StructureError(`the image data is not a valid zlib stream (${(error as Error).message})`);
  }
  if (seen < expected) throw new StructureError('the image data ends early (truncated)');
}
