/**
 * Damaged PNGs and JPEGs in the manner of PngSuite's x* files and libjpeg's error classes, made from valid files at
 * test time: bad chunk CRCs, wrong chunk and segment lengths, truncation, bogus Huffman and quantisation tables,
 * corrupt zlib data. `refused` must be 422 image_corrupt on every runtime; `quirky` must be accepted everywhere.
 * `pillow` records what Pillow 9.4 (`Image.open(f).convert('RGB')`, the reference pipeline's loader) did with each
 * file; the product refuses everything Pillow refuses and, where libpng is stricter than Pillow, follows libpng.
 */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../shared/image/crc32.ts';

export interface DamagedCase {
  name: string;
  bytes: Uint8Array;
  pillow: 'refuses' | 'accepts';
  /** Quirky files only: whether the pixels are those of the undamaged file. */
  intact?: boolean;
}

interface Chunk {
  type: string;
  data: Uint8Array;
  /** Written instead of the right CRC. */
  crc?: number;
  /** Written instead of the right length. */
  length?: number;
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

export function pngChunks(png: Uint8Array): Chunk[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: Chunk[] = [];
  for (let p = 8; p + 12 <= png.length; ) {
    const length = view.getUint32(p);
    chunks.push({ type: String.fromCharCode(...png.subarray(p + 4, p + 8)), data: png.slice(p + 8, p + 8 + length) });
    p += 12 + length;
  }
  return chunks;
}

export function writePng(chunks: Chunk[]): Uint8Array {
  const out: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const be32 = (n: number) => out.push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  for (const c of chunks) {
    be32(c.length ?? c.data.length);
    const typed = new Uint8Array([...text(c.type), ...c.data]);
    out.push(...typed);
    be32(c.crc ?? crc32(typed));
  }
  return new Uint8Array(out);
}

const wrongCrc = (c: Chunk): Chunk => ({ ...c, crc: (crc32(new Uint8Array([...text(c.type), ...c.data])) ^ 1) >>> 0 });

/** `png` must be an 8-bit RGB, non-interlaced PNG with one IDAT; `raw` its pixels (width × height × 3). */
export function damagedPngs(png: Uint8Array, raw: Uint8Array, width: number, height: number) {
  const chunks = pngChunks(png);
  const edit = (f: (c: Chunk[]) => Chunk[]) => writePng(f(pngChunks(png)));
  const map = (type: string, f: (c: Chunk) => Chunk) => edit((cs) => cs.map((c) => (c.type === type ? f(c) : c)));
  const ihdrByte = (at: number, value: number) =>
    map('IHDR', (c) => ({ ...c, data: c.data.map((x, i) => (i === at ? value : x)) }));
  const beforeIdat = (extra: Chunk) => edit((cs) => cs.flatMap((c) => (c.type === 'IDAT' ? [extra, c] : [c])));
  const afterIdat = (extra: Chunk) => edit((cs) => cs.flatMap((c) => (c.type === 'IEND' ? [extra, c] : [c])));
  const idat = (data: Uint8Array) => map('IDAT', (c) => ({ ...c, data }));
  // The scanlines (filter type 0) that IHDR calls for, to deflate with deliberate damage.
  const rows = new Uint8Array(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) rows.set(raw.subarray(y * width * 3, (y + 1) * width * 3), y * (width * 3 + 1) + 1);
  const idatData = chunks.find((c) => c.type === 'IDAT')!.data;
  const comment: Chunk = { type: 'tEXt', data: text('Comment\0made by a test') };

  const refused: DamagedCase[] = [
    { name: 'PNG with a bad IHDR CRC (PngSuite xhdn0g08)', bytes: map('IHDR', wrongCrc), pillow: 'refuses' },
    { name: 'PNG with a bad IDAT CRC (PngSuite xcsn0g01)', bytes: map('IDAT', wrongCrc), pillow: 'accepts' },
    {
      name: 'PNG with a bad CRC in the second of two IDATs',
      bytes: edit((cs) =>
        cs.flatMap((c) =>
          c.type === 'IDAT' ? [{ ...c, data: c.data.slice(0, 100) }, wrongCrc({ ...c, data: c.data.slice(100) })] : [c],
        ),
      ),
      pillow: 'accepts',
    },
    { name: 'PNG with a bad IEND CRC', bytes: map('IEND', wrongCrc), pillow: 'accepts' },
    { name: 'PNG with a bad tEXt CRC before IDAT', bytes: beforeIdat(wrongCrc(comment)), pillow: 'refuses' },
    {
      name: 'PNG with a bad gAMA CRC before IDAT',
      bytes: beforeIdat(wrongCrc({ type: 'gAMA', data: new Uint8Array([0, 0, 0xb1, 0x8f]) })),
      pillow: 'refuses',
    },
    {
      name: 'PNG with a bad PLTE CRC (RGB image)',
      bytes: beforeIdat(wrongCrc({ type: 'PLTE', data: new Uint8Array(6) })),
      pillow: 'refuses',
    },
    {
      name: 'PNG with IHDR length 14',
      bytes: map('IHDR', (c) => ({ ...c, data: new Uint8Array([...c.data, 0]) })),
      pillow: 'accepts',
    },
    {
      name: 'PNG whose IDAT length runs past the end of the file',
      bytes: map('IDAT', (c) => ({ ...c, length: c.data.length + 1000 })),
      pillow: 'accepts',
    },
    {
      name: 'PNG whose IDAT length is 10 short',
      bytes: map('IDAT', (c) => ({ ...c, length: c.data.length - 10 })),
      pillow: 'refuses',
    },
    { name: 'PNG without IEND', bytes: edit((cs) => cs.filter((c) => c.type !== 'IEND')), pillow: 'accepts' },
    {
      name: 'PNG without IDAT (PngSuite xdtn0g01)',
      bytes: edit((cs) => cs.filter((c) => c.type !== 'IDAT')),
      pillow: 'refuses',
    },
    { name: 'PNG cut inside IDAT', bytes: png.slice(0, Math.floor(png.length / 2)), pillow: 'refuses' },
    { name: 'PNG colour type 1 (PngSuite xc1n0g08)', bytes: ihdrByte(9, 1), pillow: 'refuses' },
    { name: 'PNG bit depth 3 (PngSuite xd3n2c08)', bytes: ihdrByte(8, 3), pillow: 'refuses' },
    { name: 'PNG compression method 1', bytes: ihdrByte(10, 1), pillow: 'accepts' },
    { name: 'PNG filter method 1', bytes: ihdrByte(11, 1), pillow: 'refuses' },
    { name: 'PNG interlace method 2', bytes: ihdrByte(12, 2), pillow: 'refuses' },
    {
      name: 'PNG with an unknown critical chunk',
      bytes: beforeIdat({ type: 'ABCD', data: new Uint8Array(4) }),
      pillow: 'accepts',
    },
    {
      name: 'PNG with corrupt deflate data (CRC right)',
      bytes: idat(idatData.map((x, i) => (i > 20 && i < 60 ? x ^ 0x5a : x))),
      pillow: 'refuses',
    },
    { name: 'PNG with a bad zlib header', bytes: idat(idatData.map((x, i) => (i === 0 ? 0 : x))), pillow: 'refuses' },
    {
      name: 'PNG with a bad Adler-32',
      bytes: idat(idatData.map((x, i) => (i === idatData.length - 1 ? x ^ 1 : x))),
      pillow: 'refuses',
    },
    {
      name: 'PNG with too little image data (valid zlib)',
      bytes: idat(deflateSync(rows.subarray(0, rows.length - 2000))),
      pillow: 'refuses',
    },
    {
      name: 'PNG with an undefined row filter type',
      bytes: idat(deflateSync(rows.map((x, i) => (i === 5 * (width * 3 + 1) ? 9 : x)))),
      pillow: 'refuses',
    },
  ];
  const quirky: DamagedCase[] = [
    {
      name: 'PNG with more image data than IHDR calls for',
      bytes: idat(deflateSync(new Uint8Array([...rows, ...new Uint8Array(5000)]))),
      pillow: 'accepts',
      intact: true,
    },
    {
      name: 'PNG with a bad tEXt CRC after IDAT',
      bytes: afterIdat(wrongCrc(comment)),
      pillow: 'accepts',
      intact: true,
    },
    {
      name: 'PNG with bytes after IEND',
      bytes: new Uint8Array([...png, ...text('<html>tail</html>')]),
      pillow: 'accepts',
      intact: true,
    },
  ];
  return { refused, quirky };
}

interface Segment {
  marker: number;
  /** Offset of the FF byte. */
  at: number;
  bodyLength: number;
}

function jpegSegments(jpeg: Uint8Array): Segment[] {
  const segments: Segment[] = [];
  for (let p = 2; p + 4 <= jpeg.length; ) {
    const marker = jpeg[p + 1]!;
    const bodyLength = ((jpeg[p + 2]! << 8) | jpeg[p + 3]!) - 2;
    segments.push({ marker, at: p, bodyLength });
    if (marker === 0xda) break;
    p += 4 + bodyLength;
  }
  return segments;
}

/** `jpeg` must be a baseline JPEG with its own DQT and DHT segments (as libjpeg writes them). */
export function damagedJpegs(jpeg: Uint8Array) {
  const segments = jpegSegments(jpeg);
  const first = (marker: number) => segments.find((s) => s.marker === marker)!;
  const patch = (at: number, values: number[]) => {
    const out = jpeg.slice();
    out.set(values, at);
    return out;
  };
  const without = (marker: number) => {
    const out: number[] = [0xff, 0xd8];
    for (const s of segments) {
      if (s.marker === 0xda) break;
      if (s.marker !== marker) out.push(...jpeg.subarray(s.at, s.at + 4 + s.bodyLength));
    }
    out.push(...jpeg.subarray(first(0xda).at));
    return new Uint8Array(out);
  };
  const dht = first(0xc4);
  const dqt = first(0xdb);
  const sof = first(0xc0);
  const sos = first(0xda);
  const scan = sos.at + 4 + sos.bodyLength;
  const setLength = (s: Segment, length: number) => patch(s.at + 2, [length >> 8, length & 255]);
  const refused: DamagedCase[] = [
    { name: 'JPEG with a Huffman table of over 256 codes', bytes: patch(dht.at + 20, [255]), pillow: 'refuses' },
    { name: 'JPEG with 3 one-bit Huffman codes', bytes: patch(dht.at + 5, [3]), pillow: 'refuses' },
    { name: 'JPEG with Huffman table index 7', bytes: patch(dht.at + 4, [0x07]), pillow: 'refuses' },
    { name: 'JPEG whose scan uses an undefined Huffman table', bytes: patch(sos.at + 6, [0x33]), pillow: 'refuses' },
    { name: 'JPEG whose DQT length is 3 long', bytes: setLength(dqt, dqt.bodyLength + 5), pillow: 'refuses' },
    { name: 'JPEG whose DQT length is 3 short', bytes: setLength(dqt, dqt.bodyLength - 1), pillow: 'refuses' },
    { name: 'JPEG without DQT', bytes: without(0xdb), pillow: 'refuses' },
    { name: 'JPEG whose SOF length is wrong', bytes: setLength(sof, sof.bodyLength + 4), pillow: 'refuses' },
    { name: 'JPEG with sample precision 7', bytes: patch(sof.at + 4, [7]), pillow: 'refuses' },
    { name: 'JPEG with 0 components', bytes: patch(sof.at + 9, [0]), pillow: 'refuses' },
    { name: 'JPEG with sampling factors 0', bytes: patch(sof.at + 11, [0]), pillow: 'refuses' },
    { name: 'JPEG whose component names quantisation table 3', bytes: patch(sof.at + 12, [3]), pillow: 'refuses' },
    { name: 'JPEG whose SOS length is wrong', bytes: setLength(sos, sos.bodyLength + 6), pillow: 'refuses' },
    {
      name: 'JPEG without a scan',
      bytes: new Uint8Array([...jpeg.subarray(0, sos.at), 0xff, 0xd9]),
      pillow: 'refuses',
    },
    { name: 'JPEG without EOI', bytes: jpeg.slice(0, jpeg.length - 2), pillow: 'refuses' },
  ];
  const quirky: DamagedCase[] = [
    {
      name: 'JPEG with junk bytes before SOS',
      bytes: new Uint8Array([...jpeg.subarray(0, sos.at), 0, 1, 2, ...jpeg.subarray(sos.at)]),
      pillow: 'accepts',
      intact: true,
    },
    // libjpeg substitutes its standard tables (motion-JPEG); the optimised codes then decode to other pixels.
    { name: 'JPEG without DHT (standard tables)', bytes: without(0xc4), pillow: 'accepts' },
    { name: 'JPEG with a stray restart marker in the scan', bytes: patch(scan + 100, [0xff, 0xd3]), pillow: 'accepts' },
    {
      name: 'JPEG whose scan is cut short by EOI',
      bytes: patch(scan + 100, [0xff, 0xd9]).slice(0, scan + 102),
      pillow: 'accepts',
    },
  ];
  return { refused, quirky };
}
