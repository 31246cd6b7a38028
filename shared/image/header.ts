/**
 * Image dimensions and orientation read from container headers, without decoding any pixels.
 * Runtime-neutral (plain Uint8Array/DataView), so the same code guards sharp on Node and WASM codecs on Workers.
 */
import { readAvifHeader } from './avif-header.ts';
import { exifOrientation, type Orientation, swapsAxes } from './exif.ts';
import type { ImageFormat } from './formats.ts';
import { HeaderError } from './header-error.ts';

export { HeaderError };

export interface ImageHeader {
  format: ImageFormat;
  /** Stored (pre-orientation) size. */
  width: number;
  height: number;
  orientation: Orientation;
  /** Size after applying the orientation. */
  orientedWidth: number;
  orientedHeight: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function need(bytes: Uint8Array, end: number, what: string): void {
  if (end > bytes.length) throw new HeaderError(`truncated ${what}`);
}

function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function readJpeg(bytes: Uint8Array): { width: number; height: number; orientation: Orientation } {
  const view = viewOf(bytes);
  let orientation: Orientation = 1;
  let p = 2;
  for (;;) {
    need(bytes, p + 2, 'JPEG marker');
    if (bytes[p] !== 0xff) throw new HeaderError('JPEG marker expected');
    while (bytes[p + 1] === 0xff) {
      p++; // fill bytes
      need(bytes, p + 2, 'JPEG marker');
    }
    const marker = bytes[p + 1]!;
    p += 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) throw new HeaderError('JPEG has no frame header');
    need(bytes, p + 2, 'JPEG segment');
    const length = view.getUint16(p);
    if (length < 2) throw new HeaderError('JPEG segment length');
    need(bytes, p + length, 'JPEG segment');
    if (marker === 0xe1 && orientation === 1) {
      const body = bytes.subarray(p + 2, p + length);
      if (body.length > 6 && fourcc(body, 0) === 'Exif') orientation = exifOrientation(body);
    }
    if (isStartOfFrame(marker)) {
      if (length < 8) throw new HeaderError('JPEG frame header');
      return { height: view.getUint16(p + 3), width: view.getUint16(p + 5), orientation };
    }
    p += length;
  }
}

function readPng(bytes: Uint8Array): { width: number; height: number; orientation: Orientation } {
  const view = viewOf(bytes);
  need(bytes, 33, 'PNG IHDR');
  if (fourcc(bytes, 12) !== 'IHDR' || view.getUint32(8) !== 13) throw new HeaderError('PNG must start with IHDR');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  // eXIf may carry an orientation; it must precede IDAT. Scan chunk headers only.
  let orientation: Orientation = 1;
  let p = 33;
  while (p + 8 <= bytes.length) {
    const length = view.getUint32(p);
    const type = fourcc(bytes, p + 4);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'eXIf' && p + 8 + length <= bytes.length) {
      orientation = exifOrientation(bytes.subarray(p + 8, p + 8 + length));
      break;
    }
    p += 12 + length;
  }
  return { width, height, orientation };
}

function readGif(bytes: Uint8Array): { width: number; height: number; orientation: Orientation } {
  need(bytes, 13, 'GIF logical screen descriptor');
  const view = viewOf(bytes);
  return { width: view.getUint16(6, true), height: view.getUint16(8, true), orientation: 1 };
}

function readWebp(bytes: Uint8Array): { width: number; height: number; orientation: Orientation } {
  const view = viewOf(bytes);
  need(bytes, 30, 'WebP header');
  const chunk = fourcc(bytes, 12);
  if (chunk === 'VP8 ') {
    if (bytes[23] !== 0x9d || bytes[24] !== 0x01 || bytes[25] !== 0x2a) throw new HeaderError('VP8 start code');
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff, orientation: 1 };
  }
  if (chunk === 'VP8L') {
    if (bytes[20] !== 0x2f) throw new HeaderError('VP8L signature');
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, orientation: 1 };
  }
  if (chunk === 'VP8X') {
    const width = (bytes[24]! | (bytes[25]! << 8) | (bytes[26]! << 16)) + 1;
    const height = (bytes[27]! | (bytes[28]! << 8) | (bytes[29]! << 16)) + 1;
    let orientation: Orientation = 1;
    if (bytes[20]! & 0x08) {
      // EXIF flag: find the EXIF chunk (usually after the image data) by walking chunk headers.
      let p = 12;
      while (p + 8 <= bytes.length) {
        const size = view.getUint32(p + 4, true);
        if (fourcc(bytes, p) === 'EXIF') {
          orientation = exifOrientation(bytes.subarray(p + 8, Math.min(bytes.length, p + 8 + size)));
          break;
        }
        p += 8 + size + (size & 1);
      }
    }
    return { width, height, orientation };
  }
  throw new HeaderError(`unknown WebP chunk ${JSON.stringify(chunk)}`);
}

/** Reads size and orientation for a sniffed format; throws HeaderError when the header is unusable. */
export function readImageHeader(bytes: Uint8Array, format: ImageFormat): ImageHeader {
  const read =
    format === 'jpeg'
      ? readJpeg
      : format === 'png'
        ? readPng
        : format === 'gif'
          ? readGif
          : format === 'webp'
            ? readWebp
            : readAvifHeader;
  const { width, height, orientation } = read(bytes);
  if (!(width > 0 && height > 0)) throw new HeaderError(`${format} header declares ${width}×${height}`);
  const swap = swapsAxes(orientation);
  return {
    format,
    width,
    height,
    orientation,
    orientedWidth: swap ? height : width,
    orientedHeight: swap ? width : height,
  };
}

/**
 * Whether a JPEG's entropy-coded data is followed by an EOI marker. Inside scan data 0xFF is always stuffed (FF 00)
 * or a restart marker, so FF D9 after the first SOS is the real end; a file cut short has none. Decoders that
 * silently grey-fill truncated scans (mozjpeg in WASM) need this; libvips detects truncation itself.
 */
/** Colour components in a JPEG's frame header (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK), or 0 when there is none. */
export function jpegComponentCount(bytes: Uint8Array): number {
  for (let i = 2; i + 9 < bytes.length; i++) {
    if (bytes[i] !== 0xff) continue;
    const marker = bytes[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9]!;
    if (marker === 0xda) return 0;
    if (marker >= 0xc0 && marker !== 0xd8 && marker !== 0xff) i += 1 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return 0;
}

export function jpegHasEndMarker(bytes: Uint8Array): boolean {
  let sos = -1;
  for (let i = 2; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xda) {
      sos = i;
      break;
    }
    // Skip marker segments so FF DA inside APPn payloads (EXIF thumbnails) is not taken for the scan.
    if (
      bytes[i] === 0xff &&
      bytes[i + 1]! >= 0xc0 &&
      bytes[i + 1]! !== 0xd8 &&
      bytes[i + 1]! !== 0xff &&
      i + 3 < bytes.length
    ) {
      i += 1 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
    }
  }
  if (sos < 0) return false;
  for (let i = sos + 2; i + 1 < bytes.length; i++) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}
