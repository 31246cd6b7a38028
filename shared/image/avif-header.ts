/**
 * AVIF (HEIF/ISOBMFF) header reading: the primary item's `ispe` (size) and `irot`/`imir` (transform), found through
 * meta → pitm / iprp → ipco + ipma. Only box headers and small property payloads are read.
 */
import type { Orientation } from './exif.ts';
import { HeaderError } from './header-error.ts';

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

function boxes(bytes: Uint8Array, start: number, end: number): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= end) {
    let size = view.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    let header = 8;
    if (size === 1) {
      if (p + 16 > end) throw new HeaderError('truncated AVIF box');
      size = Number(view.getBigUint64(p + 8));
      header = 16;
    } else if (size === 0) {
      size = end - p;
    }
    if (size < header || p + size > end) throw new HeaderError(`truncated AVIF box ${type}`);
    out.push({ type, start: p + header, end: p + size });
    p += size;
  }
  return out;
}

function child(list: Box[], type: string): Box | undefined {
  return list.find((b) => b.type === type);
}

/**
 * HEIF applies irot (anticlockwise quarter turns) then imir (ISO/IEC 23008-12:2022 mode 0 exchanges top and bottom,
 * mode 1 left and right), expressed as the equivalent EXIF orientation (same mapping as libavif).
 */
export function heifTransformToOrientation(quarterTurnsCcw: number, mirrorMode: 0 | 1 | undefined): Orientation {
  const table: Record<string, Orientation> = {
    '0n': 1,
    '1n': 8,
    '2n': 3,
    '3n': 6,
    '00': 4,
    '01': 2,
    '10': 5,
    '11': 7,
    '20': 2,
    '21': 4,
    '30': 7,
    '31': 5,
  };
  return table[`${quarterTurnsCcw & 3}${mirrorMode ?? 'n'}`] ?? 1;
}

export function readAvifHeader(bytes: Uint8Array): { width: number; height: number; orientation: Orientation } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const top = boxes(bytes, 0, bytes.length);
  const meta = child(top, 'meta');
  if (!meta) throw new HeaderError('AVIF has no meta box');
  const metaChildren = boxes(bytes, meta.start + 4, meta.end); // full box: skip version+flags
  const pitm = child(metaChildren, 'pitm');
  let primary = 1;
  if (pitm) primary = bytes[pitm.start] === 0 ? view.getUint16(pitm.start + 4) : view.getUint32(pitm.start + 4);
  const iprp = child(metaChildren, 'iprp');
  if (!iprp) throw new HeaderError('AVIF has no item properties');
  const iprpChildren = boxes(bytes, iprp.start, iprp.end);
  const ipco = child(iprpChildren, 'ipco');
  if (!ipco) throw new HeaderError('AVIF has no property container');
  const properties = boxes(bytes, ipco.start, ipco.end);

  // Property indices (1-based) associated with the primary item, from every ipma box.
  const associated: number[] = [];
  for (const ipma of iprpChildren.filter((b) => b.type === 'ipma')) {
    const version = bytes[ipma.start]!;
    const flags = bytes[ipma.start + 3]!;
    let p = ipma.start + 4;
    const entries = view.getUint32(p);
    p += 4;
    for (let i = 0; i < entries; i++) {
      if (p + 3 > ipma.end) throw new HeaderError('truncated AVIF ipma');
      const item = version < 1 ? view.getUint16(p) : view.getUint32(p);
      p += version < 1 ? 2 : 4;
      const count = bytes[p++]!;
      for (let j = 0; j < count; j++) {
        const index = flags & 1 ? view.getUint16(p) & 0x7fff : bytes[p]! & 0x7f;
        p += flags & 1 ? 2 : 1;
        if (item === primary) associated.push(index);
      }
    }
  }

  let size: { width: number; height: number } | undefined;
  let turns = 0;
  let mirror: 0 | 1 | undefined;
  for (const index of associated) {
    const prop = properties[index - 1];
    if (!prop) continue;
    if (prop.type === 'ispe' && prop.start + 12 <= prop.end) {
      size = { width: view.getUint32(prop.start + 4), height: view.getUint32(prop.start + 8) };
    } else if (prop.type === 'irot' && prop.start < prop.end) {
      turns = bytes[prop.start]! & 3;
    } else if (prop.type === 'imir' && prop.start < prop.end) {
      mirror = (bytes[prop.start]! & 1) as 0 | 1;
    }
  }
  if (!size) throw new HeaderError('AVIF primary item has no ispe');
  return { ...size, orientation: heifTransformToOrientation(turns, mirror) };
}
