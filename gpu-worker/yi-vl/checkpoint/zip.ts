// Reads the central directory of a (zip64-capable) zip file, enough to locate stored entries by offset.
import { readSync } from 'node:fs';

export interface ZipEntry {
  name: string;
  /** absolute offset of the entry's data */
  dataOffset: number;
  compressedSize: number;
  size: number;
  /** 0 = stored, 8 = deflate */
  method: number;
}

function read(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

const u64 = (b: Buffer, o: number) => Number(b.readBigUInt64LE(o));

export function readZipDirectory(fd: number, fileSize: number, label: string): Map<string, ZipEntry> {
  const tailLen = Math.min(fileSize, 22 + 65535 + 20);
  const tail = read(fd, fileSize - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${label}: not a zip archive`);
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw new Error(`${label}: zip64 locator missing`);
    const rec = read(fd, u64(tail, loc + 8), 56);
    if (rec.readUInt32LE(0) !== 0x06064b50) throw new Error(`${label}: bad zip64 end record`);
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  const cd = read(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${label}: bad zip central directory`);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extended information: only the fields saturated in the fixed header are present, in this order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = u64(cd, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(cd, q);
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(cd, q);
      }
      e += 4 + len;
    }
    const local = read(fd, localOffset, 30);
    if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`${label}: bad local header for ${name}`);
    const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    entries.set(name, { name, dataOffset, compressedSize, size, method });
    p = extraEnd + commentLen;
  }
  return entries;
}

export function readZipEntry(fd: number, entry: ZipEntry): Buffer {
  return read(fd, entry.dataOffset, entry.compressedSize);
}
