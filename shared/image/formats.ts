/** The upload formats the API accepts, identified by magic bytes only (a declared content type is never trusted). */
export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif'] as const;
export type ImageFormat = (typeof ACCEPTED_FORMATS)[number];

export const ACCEPTED_MEDIA_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
};

export const ACCEPTED_FORMATS_TEXT = ACCEPTED_FORMATS.map((f) => ACCEPTED_MEDIA_TYPES[f]).join(', ');

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);

/** The format an upload's leading bytes identify, or undefined for anything not accepted. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && ascii(bytes, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (bytes.length >= 16 && ascii(bytes, 4, 4) === 'ftyp') {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const size = Math.min(view.getUint32(0), bytes.length);
    if (AVIF_BRANDS.has(ascii(bytes, 8, 4))) return 'avif';
    for (let p = 16; p + 4 <= size; p += 4) if (AVIF_BRANDS.has(ascii(bytes, p, 4))) return 'avif';
  }
  return undefined;
}

/** A short name for common rejected types, for a more helpful 415 detail. */
export function describeRejected(bytes: Uint8Array): string | undefined {
  const head = ascii(bytes, 0, 512)
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  if (head.startsWith('%pdf')) return 'PDF';
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'HTML';
  if (head.startsWith('<?xml') || head.startsWith('<')) return 'XML/HTML';
  if (ascii(bytes, 0, 2) === 'BM') return 'BMP';
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') return 'TIFF';
  if (ascii(bytes, 4, 4) === 'ftyp') return `ISO media (${ascii(bytes, 8, 4).trim()})`;
  return undefined;
}
