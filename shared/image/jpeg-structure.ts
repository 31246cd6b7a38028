/**
 * JPEG structure checks that reproduce the refusals of libjpeg(-turbo), the decoder under both Pillow and sharp,
 * without decoding pixels: marker segments whose lengths do not add up, bogus quantisation and Huffman tables,
 * frame and scan headers that name missing tables or components, impossible progressive parameters, a second SOI or
 * SOF, and a file that ends before EOI. What libjpeg only warns about (junk between segments, damaged entropy-coded
 * data, a scan cut short by EOI) stays accepted, as Pillow accepts it. Runtime-neutral.
 */
import { StructureError } from './header-error.ts';

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
}

/** A Huffman table as libjpeg judges it when a scan first uses it (jpeg_make_d_derived_tbl). */
function huffmanTableProblem(counts: Uint8Array, symbols: Uint8Array, isDc: boolean): string | undefined {
  let code = 0;
  let started = false;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1]!;
    if (n) started = true;
    code += n;
    // No code may be all ones: after the codes of each length, the next code must still fit in that many bits.
    if (started && code >= 1 << length) return 'a Huffman table has more codes than its code lengths allow';
    code <<= 1;
  }
  if (isDc && symbols.some((s) => s > 15)) return 'a DC Huffman table has a symbol over 15';
  return undefined;
}

function isFrameMarker(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
}

/** Throws StructureError for a JPEG that libjpeg refuses to decode. */
export function checkJpegStructure(bytes: Uint8Array): void {
  const quant = new Set<number>();
  // Tables 0 and 1 default to the standard ones (libjpeg fills them for motion-JPEG); 2 and 3 must be defined.
  const huffman = new Map<string, string | undefined>();
  let frame: { components: Component[]; progressive: boolean; arithmetic: boolean } | undefined;
  let scans = 0;
  let p = 2;
  for (;;) {
    // Junk before a marker is skipped, as libjpeg does (with a warning).
    while (p < bytes.length && bytes[p] !== 0xff) p++;
    while (p < bytes.length && bytes[p] === 0xff) p++;
    if (p >= bytes.length) throw new StructureError('the file ends before the end-of-image marker (truncated)');
    const marker = bytes[p]!;
    p++;
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8) throw new StructureError('a second start-of-image marker');
    if (marker === 0xd9) {
      if (!scans) throw new StructureError('no scan before the end-of-image marker');
      return;
    }
    if (p + 2 > bytes.length) throw new StructureError('the file ends inside a marker segment (truncated)');
    const length = (bytes[p]! << 8) | bytes[p + 1]!;
    if (length < 2) throw new StructureError('a marker segment has a length under 2');
    const end = p + length;
    if (end > bytes.length) throw new StructureError('a marker segment runs past the end of the file');
    const body = bytes.subarray(p + 2, end);
    if (marker === 0xdb) readQuantTables(body, quant);
    else if (marker === 0xc4) readHuffmanTables(body, huffman);
    else if (isFrameMarker(marker)) {
      if (frame) throw new StructureError('a second frame header');
      frame = readFrame(marker, body);
    } else if (marker === 0xda) {
      if (!frame) throw new StructureError('a scan before the frame header');
      checkScan(body, frame, quant, huffman);
      scans++;
      p = skipEntropyCodedData(bytes, end);
      continue;
    }
    p = end;
  }
}

function readQuantTables(body: Uint8Array, quant: Set<number>): void {
  let q = 0;
  while (q < body.length) {
    const precision = body[q]! >> 4;
    const id = body[q]! & 15;
    if (precision > 1 || id > 3) throw new StructureError('a bogus quantisation table (DQT) index or precision');
    q += 1 + 64 * (precision + 1);
    if (q > body.length) throw new StructureError('a quantisation table (DQT) segment has the wrong length');
    quant.add(id);
  }
}

function readHuffmanTables(body: Uint8Array, huffman: Map<string, string | undefined>): void {
  let q = 0;
  while (q < body.length) {
    if (q + 17 > body.length) throw new StructureError('a Huffman table (DHT) segment has the wrong length');
    const cls = body[q]! >> 4;
    const id = body[q]! & 15;
    if (cls > 1 || id > 3) throw new StructureError('a bogus Huffman table (DHT) index');
    const counts = body.subarray(q + 1, q + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256 || q + 17 + total > body.length) throw new StructureError('a bogus Huffman table definition');
    huffman.set(`${cls}${id}`, huffmanTableProblem(counts, body.subarray(q + 17, q + 17 + total), cls === 0));
    q += 17 + total;
  }
}

function readFrame(marker: number, body: Uint8Array) {
  // Lossless (C3, C7, CB, CF) and hierarchical (C5–C7, CD–CF) processes are not decoded by 8-bit libjpeg builds.
  if ([0xc3, 0xc5, 0xc6, 0xc7, 0xcb, 0xcd, 0xce, 0xcf].includes(marker)) {
    throw new StructureError(`unsupported JPEG process (SOF${marker - 0xc0})`);
  }
  if (body.length < 6) throw new StructureError('the frame header is too short');
  if (body[0] !== 8) throw new StructureError(`unsupported JPEG sample precision ${body[0]}`);
  const n = body[5]!;
  if (n !== 1 && n !== 3 && n !== 4) throw new StructureError(`a frame with ${n} components`);
  if (body.length !== 6 + 3 * n) throw new StructureError('the frame header has the wrong length');
  const components: Component[] = [];
  for (let i = 0; i < n; i++) {
    const o = 6 + 3 * i;
    const c = { id: body[o]!, h: body[o + 1]! >> 4, v: body[o + 1]! & 15, tq: body[o + 2]! };
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) throw new StructureError('bogus sampling factors');
    if (c.tq > 3) throw new StructureError('a component names quantisation table over 3');
    components.push(c);
  }
  return {
    components,
    progressive: marker === 0xc2 || marker === 0xca,
    arithmetic: marker >= 0xc8,
  };
}

function checkScan(
  body: Uint8Array,
  frame: { components: Component[]; progressive: boolean; arithmetic: boolean },
  quant: Set<number>,
  huffman: Map<string, string | undefined>,
): void {
  const n = body[0] ?? 0;
  if (n < 1 || n > 4 || body.length !== 4 + 2 * n) throw new StructureError('the scan header has the wrong length');
  const [ss, se, a] = [body[1 + 2 * n]!, body[2 + 2 * n]!, body[3 + 2 * n]!];
  const ah = a >> 4;
  const al = a & 15;
  let blocks = 0;
  const dcFirst = !frame.progressive || (ss === 0 && ah === 0);
  const needsAc = !frame.progressive || ss > 0;
  for (let i = 0; i < n; i++) {
    const component = frame.components.find((c) => c.id === body[1 + 2 * i]);
    if (!component) throw new StructureError('the scan names a component the frame does not have');
    if (!quant.has(component.tq)) throw new StructureError(`quantisation table ${component.tq} is not defined`);
    blocks += component.h * component.v;
    if (frame.arithmetic) continue;
    const td = body[2 + 2 * i]! >> 4;
    const ta = body[2 + 2 * i]! & 15;
    for (const [needed, cls, id] of [
      [dcFirst, 0, td],
      [needsAc, 1, ta],
    ] as const) {
      if (!needed) continue;
      if (id > 3 || (id > 1 && !huffman.has(`${cls}${id}`))) {
        throw new StructureError(`Huffman table ${id} is not defined`);
      }
      const problem = huffman.get(`${cls}${id}`);
      if (problem) throw new StructureError(problem);
    }
  }
  if (n > 1 && blocks > 10) throw new StructureError('sampling factors too large for an interleaved scan');
  if (frame.progressive) {
    const bad = (ss === 0 ? se !== 0 : ss > se || se > 63 || n !== 1) || (ah !== 0 && al !== ah - 1) || al > 13;
    if (bad) throw new StructureError('invalid progressive scan parameters');
  }
}

/** The offset of the first marker after a scan's entropy-coded data (stuffed FF 00 and restart markers skipped). */
function skipEntropyCodedData(bytes: Uint8Array, from: number): number {
  for (let q = from; q + 1 < bytes.length; q++) {
    if (bytes[q] !== 0xff) continue;
    const next = bytes[q + 1]!;
    if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) continue;
    return q;
  }
  throw new StructureError('the file ends inside the image data (truncated)');
}
