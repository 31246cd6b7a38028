/** EXIF orientation values 1–8 (1 = as stored). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export function isOrientation(n: number): n is Orientation {
  return Number.isInteger(n) && n >= 1 && n <= 8;
}

/** Orientations 5–8 swap width and height. */
export function swapsAxes(orientation: Orientation): boolean {
  return orientation >= 5;
}

/**
 * Reads the Orientation tag (0x0112) from IFD0 of a TIFF structure (the body of an EXIF block).
 * Accepts an optional leading "Exif\0\0". Anything malformed yields 1: orientation is advisory.
 */
export function exifOrientation(bytes: Uint8Array): Orientation {
  let base = 0;
  if (bytes.length >= 6 && bytes[0] === 0x45 && bytes[1] === 0x78 && bytes[2] === 0x69 && bytes[3] === 0x66) base = 6;
  if (bytes.length < base + 8) return 1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const order = view.getUint16(base);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const le = order === 0x4949;
  if (view.getUint16(base + 2, le) !== 42) return 1;
  const ifd = base + view.getUint32(base + 4, le);
  if (ifd + 2 > bytes.length) return 1;
  const count = view.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > bytes.length) return 1;
    if (view.getUint16(entry, le) !== 0x0112) continue;
    const type = view.getUint16(entry + 2, le);
    const value = type === 3 ? view.getUint16(entry + 8, le) : type === 4 ? view.getUint32(entry + 8, le) : 0;
    return isOrientation(value) ? value : 1;
  }
  return 1;
}
