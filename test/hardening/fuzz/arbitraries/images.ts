/**
 * Image bytes mutated from valid files of every accepted format: bit flips, byte overwrites, insertions, deletions,
 * truncation, header dimension fields set huge, and chunk/segment/box length fields rewritten.
 */
import fc from 'fast-check';
import type { ImageFormat } from '../../../../shared/image/formats.ts';
import { buildCorpus } from '../../../edge-image/corpus.ts';

export interface SeedImage {
  name: string;
  format: ImageFormat;
  bytes: Uint8Array;
}

/** Valid corpus files under `maxBytes`, at least one per format. */
export async function seedImages(maxBytes: number): Promise<SeedImage[]> {
  const { valid } = await buildCorpus();
  const seeds = valid
    .filter((v) => v.bytes.length <= maxBytes)
    .map((v) => ({ name: v.name, format: v.format, bytes: v.bytes }));
  for (const f of ['jpeg', 'png', 'webp', 'gif', 'avif'] as const)
    if (!seeds.some((s) => s.format === f)) throw new Error(`no ${f} seed under ${maxBytes} bytes`);
  return seeds;
}

function ascii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

function indexOfAscii(bytes: Uint8Array, text: string, from = 0): number {
  outer: for (let i = from; i + text.length <= bytes.length; i++) {
    for (let j = 0; j < text.length; j++) if (bytes[i + j] !== text.charCodeAt(j)) continue outer;
    return i;
  }
  return -1;
}

/** Offsets of the length fields of a file's chunks (PNG), segments (JPEG), chunks (RIFF) or boxes (ISO BMFF), with their width in bytes. */
export function lengthFields(format: ImageFormat, b: Uint8Array): { at: number; size: 2 | 4 }[] {
  const out: { at: number; size: 2 | 4 }[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (format === 'png') {
    for (let p = 8; p + 8 <= b.length; ) {
      out.push({ at: p, size: 4 });
      const len = view.getUint32(p);
      if (ascii(b, p + 4, 4) === 'IEND') break;
      p += 12 + len;
    }
  } else if (format === 'jpeg') {
    for (let p = 2; p + 4 <= b.length && b[p] === 0xff; ) {
      const marker = b[p + 1]!;
      if (marker === 0xd9 || marker === 0xda) {
        if (marker === 0xda) out.push({ at: p + 2, size: 2 });
        break;
      }
      out.push({ at: p + 2, size: 2 });
      p += 2 + view.getUint16(p + 2);
    }
  } else if (format === 'webp') {
    out.push({ at: 4, size: 4 });
    for (let p = 12; p + 8 <= b.length; ) {
      out.push({ at: p + 4, size: 4 });
      const size = view.getUint32(p + 4, true);
      p += 8 + size + (size & 1);
    }
  } else if (format === 'avif') {
    for (const box of [
      'ftyp',
      'meta',
      'hdlr',
      'pitm',
      'iloc',
      'iinf',
      'infe',
      'iprp',
      'ipco',
      'ispe',
      'av1C',
      'ipma',
      'mdat',
    ]) {
      const i = indexOfAscii(b, box);
      if (i >= 4) out.push({ at: i - 4, size: 4 });
    }
  } else {
    // GIF has no chunk lengths worth the name: take the first frame's width and height in its image descriptor.
    const i = b.indexOf(0x2c, 13);
    if (i > 0) out.push({ at: i + 5, size: 2 }, { at: i + 7, size: 2 });
  }
  return out.filter((f) => f.at + f.size <= b.length);
}

/** Rewrites the header's width and height to values over every limit (50 MP, 16384 px a side); null if not found. */
export function hugeDimensions(format: ImageFormat, bytes: Uint8Array): Uint8Array | null {
  const b = bytes.slice();
  const view = new DataView(b.buffer);
  switch (format) {
    case 'png':
      view.setUint32(16, 20000);
      view.setUint32(20, 20000);
      return b;
    case 'gif':
      view.setUint16(6, 65535, true);
      view.setUint16(8, 65535, true);
      return b;
    case 'jpeg': {
      for (let p = 2; p + 9 <= b.length && b[p] === 0xff; p += 2 + view.getUint16(p + 2)) {
        const m = b[p + 1]!;
        if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
          view.setUint16(p + 5, 60000);
          view.setUint16(p + 7, 60000);
          return b;
        }
        if (m === 0xda) break;
      }
      return null;
    }
    case 'webp': {
      const chunk = ascii(b, 12, 4);
      if (chunk === 'VP8X') b.set([0xff, 0xff, 0x3f, 0xff, 0xff, 0x3f], 24);
      else if (chunk === 'VP8L') view.setUint32(21, (view.getUint32(21, true) & 0xf0000000) | 0x0fffffff, true);
      else if (chunk === 'VP8 ') {
        view.setUint16(26, 0x3fff, true);
        view.setUint16(28, 0x3fff, true);
      } else return null;
      return b;
    }
    case 'avif': {
      const i = indexOfAscii(b, 'ispe');
      if (i < 0) return null;
      view.setUint32(i + 8, 30000);
      view.setUint32(i + 12, 30000);
      return b;
    }
  }
}

export type ByteMutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; keep: number }
  | { op: 'length-field'; which: number; value: number };

export const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc
    .record({
      op: fc.constant('truncate' as const),
      keep: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
    })
    .map((m) => ({
      op: 'truncate' as const,
      keep: Math.floor(m.keep * 1e6),
    })),
  fc.record({
    op: fc.constant('length-field' as const),
    which: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 0xffff, 0xffffffff, 0x7fffffff), fc.nat({ max: 0xffffffff })),
  }),
);

/** Applies mutations in order; `at` indices wrap around the current length. */
export function mutateImage(format: ImageFormat, bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let b = bytes.slice();
  for (const m of mutations) {
    if (b.length === 0) break;
    switch (m.op) {
      case 'flip': {
        const i = m.at % b.length;
        b[i] = b[i]! ^ (1 << m.bit);
        break;
      }
      case 'set':
        b[m.at % b.length] = m.value;
        break;
      case 'insert': {
        const i = m.at % (b.length + 1);
        const out = new Uint8Array(b.length + m.bytes.length);
        out.set(b.subarray(0, i));
        out.set(m.bytes, i);
        out.set(b.subarray(i), i + m.bytes.length);
        b = out;
        break;
      }
      case 'delete': {
        const i = m.at % b.length;
        b = new Uint8Array([...b.subarray(0, i), ...b.subarray(i + m.count)]);
        break;
      }
      case 'truncate':
        b = b.slice(0, Math.floor((m.keep / 1e6) * b.length));
        break;
      case 'length-field': {
        const fields = lengthFields(format, b);
        if (!fields.length) break;
        const f = fields[m.which % fields.length]!;
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (f.size === 2) view.setUint16(f.at, m.value & 0xffff, format === 'gif');
        else view.setUint32(f.at, m.value >>> 0, format === 'webp');
        break;
      }
    }
  }
  return b;
}
