// Test fixture: a minimal ELF64 little-endian file with only what the onnxruntime version check reads — a
// .rodata section of C strings and, optionally, symbol version definitions (.gnu.version_d + .dynstr).
import { writeFileSync } from 'node:fs';
import { SHT_GNU_VERDEF } from '../elf-sections.ts';

export interface FakeElf {
  /** C strings stored in .rodata (e.g. an onnxruntime version "1.29.0") */
  rodata?: string[];
  /** symbol versions the library defines (e.g. "VERS_1.30.0") */
  versionDefinitions?: string[];
}

const cStrings = (list: string[]) => Buffer.from(`\0${list.map((s) => `${s}\0`).join('')}`, 'latin1');

export function fakeElfBytes(spec: FakeElf): Buffer {
  const sections: { name: string; type: number; data: Buffer; link?: number }[] = [
    { name: '', type: 0, data: Buffer.alloc(0) },
    { name: '.rodata', type: 1, data: Buffer.concat([Buffer.from('filler text '), cStrings(spec.rodata ?? [])]) },
  ];
  if (spec.versionDefinitions) {
    const names = ['libfake.so', ...spec.versionDefinitions];
    const dynstr = cStrings(names);
    const defs = Buffer.alloc(names.length * 28);
    let nameAt = 1;
    names.forEach((n, i) => {
      const at = i * 28;
      defs.writeUInt16LE(1, at); // vd_version
      defs.writeUInt16LE(i === 0 ? 1 : 0, at + 2); // VER_FLG_BASE on the first
      defs.writeUInt16LE(i + 1, at + 4);
      defs.writeUInt16LE(1, at + 6);
      defs.writeUInt32LE(20, at + 12); // vd_aux
      defs.writeUInt32LE(i === names.length - 1 ? 0 : 28, at + 16); // vd_next
      defs.writeUInt32LE(nameAt, at + 20); // vda_name
      nameAt += Buffer.byteLength(n, 'latin1') + 1;
    });
    sections.push({ name: '.dynstr', type: 3, data: dynstr });
    sections.push({ name: '.gnu.version_d', type: SHT_GNU_VERDEF, data: defs, link: sections.length - 1 });
  }
  const shstrtab = cStrings([...sections.slice(1).map((s) => s.name), '.shstrtab']);
  sections.push({ name: '.shstrtab', type: 3, data: shstrtab });
  const nameOffsets: number[] = [0];
  let at = 1;
  for (const s of sections.slice(1)) {
    nameOffsets.push(at);
    at += Buffer.byteLength(s.name, 'latin1') + 1;
  }
  const offsets: number[] = [];
  let cursor = 64;
  for (const s of sections) {
    offsets.push(cursor);
    cursor += s.data.length;
  }
  const shoff = Math.ceil(cursor / 8) * 8;
  const out = Buffer.alloc(shoff + sections.length * 64);
  out.writeUInt32BE(0x7f454c46, 0);
  out[4] = 2; // ELFCLASS64
  out[5] = 1; // little-endian
  out[6] = 1;
  out.writeUInt16LE(3, 16); // ET_DYN
  out.writeUInt16LE(62, 18); // x86-64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 0x28);
  out.writeUInt16LE(64, 0x34);
  out.writeUInt16LE(64, 0x3a);
  out.writeUInt16LE(sections.length, 0x3c);
  out.writeUInt16LE(sections.length - 1, 0x3e);
  sections.forEach((s, i) => {
    s.data.copy(out, offsets[i]!);
    const h = shoff + i * 64;
    out.writeUInt32LE(nameOffsets[i]!, h);
    out.writeUInt32LE(s.type, h + 4);
    out.writeBigUInt64LE(BigInt(i === 0 ? 0 : offsets[i]!), h + 24);
    out.writeBigUInt64LE(BigInt(s.data.length), h + 32);
    out.writeUInt32LE(s.link ?? 0, h + 40);
  });
  return out;
}

export function writeFakeElf(path: string, spec: FakeElf): string {
  writeFileSync(path, fakeElfBytes(spec));
  return path;
}
