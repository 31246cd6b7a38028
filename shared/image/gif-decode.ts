/**
 * GIF first-frame decoder (runtime-neutral), written for hostile input: every loop is bounded by the bytes it
 * reads or the pixels it writes, so corrupt LZW data ends in an error, never a spin (omggif loops forever on some
 * corruptions, which in a Worker means a CPU-limit 5xx). Returns the logical screen as RGBA, the first frame blitted
 * onto a transparent canvas, transparency honoured.
 */
import { concatBytes } from '../bytes.ts';
import { HeaderError } from './header-error.ts';

export interface GifFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

const MAX_CODES = 4096;

class Reader {
  p = 0;
  constructor(readonly bytes: Uint8Array) {}
  u8(): number {
    if (this.p >= this.bytes.length) throw new HeaderError('GIF truncated');
    return this.bytes[this.p++]!;
  }
  u16(): number {
    return this.u8() | (this.u8() << 8);
  }
  skip(n: number): void {
    if (this.p + n > this.bytes.length) throw new HeaderError('GIF truncated');
    this.p += n;
  }
  /** Concatenated data sub-blocks up to the terminator. */
  subBlocks(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let size = this.u8(); size !== 0; size = this.u8()) {
      if (this.p + size > this.bytes.length) throw new HeaderError('GIF truncated');
      parts.push(this.bytes.subarray(this.p, this.p + size));
      this.p += size;
    }
    return concatBytes(parts);
  }
}

/** LZW-decodes exactly `pixels` colour indices (GIF variant: variable code size up to 12 bits, deferred clear). */
function lzw(data: Uint8Array, minCodeSize: number, pixels: number): Uint8Array {
  if (minCodeSize < 2 || minCodeSize > 11) throw new HeaderError(`GIF LZW minimum code size ${minCodeSize}`);
  const out = new Uint8Array(pixels);
  const prefix = new Int16Array(MAX_CODES);
  const suffix = new Uint8Array(MAX_CODES);
  const first = new Uint8Array(MAX_CODES);
  const stack = new Uint8Array(MAX_CODES + 1);
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    first[i] = i;
    prefix[i] = -1;
  }
  let codeSize = minCodeSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let op = 0;
  let bits = 0;
  let acc = 0;
  let ip = 0;
  while (op < pixels) {
    while (bits < codeSize) {
      if (ip >= data.length) throw new HeaderError('GIF image data ends early');
      acc |= data[ip++]! << bits;
      bits += 8;
    }
    const code = acc & ((1 << codeSize) - 1);
    acc >>>= codeSize;
    bits -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    let emit: number;
    let firstChar: number;
    if (prev === -1) {
      if (code >= clear) throw new HeaderError('GIF LZW code before any entry');
      emit = code;
      firstChar = code;
    } else if (code < next) {
      emit = code;
      firstChar = first[code]!;
    } else if (code === next) {
      emit = -1; // the KwKwK case: prev's string plus its own first character
      firstChar = first[prev]!;
    } else {
      throw new HeaderError('GIF LZW code out of range');
    }
    if (prev !== -1 && next < MAX_CODES) {
      prefix[next] = prev;
      suffix[next] = firstChar;
      first[next] = first[prev]!;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    // Unwind the string for `emit` (or for the entry just added) onto the stack, then copy it out.
    let c = emit === -1 ? next - 1 : emit;
    let sp = 0;
    while (c >= 0 && sp <= MAX_CODES) {
      stack[sp++] = suffix[c]!;
      c = c < clear ? -1 : prefix[c]!;
    }
    while (sp > 0 && op < pixels) out[op++] = stack[--sp]!;
    prev = code;
  }
  if (op < pixels) throw new HeaderError('GIF image data ends early');
  return out;
}

function interlacedRows(height: number): number[] {
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ] as const) {
    for (let y = start; y < height; y += step) rows.push(y);
  }
  return rows;
}

export function decodeGifFirstFrame(bytes: Uint8Array): GifFrame {
  const r = new Reader(bytes);
  r.skip(6);
  const width = r.u16();
  const height = r.u16();
  const flags = r.u8();
  r.skip(2);
  let palette: Uint8Array | undefined;
  if (flags & 0x80) {
    const size = 3 * (2 << (flags & 7));
    palette = bytes.subarray(r.p, r.p + size);
    r.skip(size);
  }
  let transparent = -1;
  for (;;) {
    const block = r.u8();
    if (block === 0x3b) throw new HeaderError('GIF has no image');
    if (block === 0x21) {
      const label = r.u8();
      if (label === 0xf9) {
        const ext = r.subBlocks();
        if (ext.length >= 4 && ext[0]! & 1) transparent = ext[3]!;
      } else {
        r.subBlocks();
      }
      continue;
    }
    if (block !== 0x2c) throw new HeaderError(`GIF block 0x${block.toString(16)}`);
    const fx = r.u16();
    const fy = r.u16();
    const fw = r.u16();
    const fh = r.u16();
    const frameFlags = r.u8();
    if (frameFlags & 0x80) {
      const size = 3 * (2 << (frameFlags & 7));
      palette = bytes.subarray(r.p, r.p + size);
      r.skip(size);
    }
    if (!palette) throw new HeaderError('GIF frame has no colour table');
    const minCodeSize = r.u8();
    const indices = lzw(r.subBlocks(), minCodeSize, fw * fh);
    const rows = frameFlags & 0x40 ? interlacedRows(fh) : undefined;
    const out = new Uint8Array(width * height * 4);
    const colours = palette.length / 3;
    for (let row = 0; row < fh; row++) {
      const y = fy + (rows ? rows[row]! : row);
      if (y >= height) continue;
      for (let x = 0; x < fw; x++) {
        const sx = fx + x;
        if (sx >= width) break;
        const index = indices[row * fw + x]!;
        if (index === transparent) continue;
        const o = (y * width + sx) * 4;
        if (index < colours) {
          out[o] = palette[index * 3]!;
          out[o + 1] = palette[index * 3 + 1]!;
          out[o + 2] = palette[index * 3 + 2]!;
        }
        out[o + 3] = 255;
      }
    }
    return { data: out, width, height };
  }
}
