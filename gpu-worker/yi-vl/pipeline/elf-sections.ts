// Reads what the onnxruntime version check needs from an ELF64 little-endian shared library (Linux x64): the
// section table, one section's bytes, and the symbol versions the library defines (`VERS_1.30.0` in onnxruntime's
// core library). Only the headers and the asked-for sections are read, never the whole file.
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
  /** index of the linked section (a string table for SHT_GNU_verdef) */
  link: number;
}

export const SHT_GNU_VERDEF = 0x6ffffffd;

export class NotElfError extends Error {
  override name = 'NotElfError';
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  if (n !== length) throw new NotElfError(`truncated at byte ${offset + n}`);
  return buf;
}

const cString = (buf: Buffer, at: number) => buf.toString('latin1', at, Math.max(at, buf.indexOf(0, at)));

export class ElfFile {
  readonly sections: ElfSection[];
  private constructor(
    private readonly fd: number,
    sections: ElfSection[],
  ) {
    this.sections = sections;
  }

  static open(path: string): ElfFile {
    const fd = openSync(path, 'r');
    try {
      const h = readAt(fd, 0, 64);
      if (h.readUInt32BE(0) !== 0x7f454c46) throw new NotElfError('not an ELF file');
      if (h[4] !== 2 || h[5] !== 1) throw new NotElfError('not a 64-bit little-endian ELF file');
      const shoff = Number(h.readBigUInt64LE(0x28));
      const shentsize = h.readUInt16LE(0x3a);
      const shnum = h.readUInt16LE(0x3c);
      const shstrndx = h.readUInt16LE(0x3e);
      if (shentsize < 64 || shnum === 0 || shstrndx >= shnum) throw new NotElfError('no section table');
      const table = readAt(fd, shoff, shentsize * shnum);
      const raw = Array.from({ length: shnum }, (_, i) => {
        const at = i * shentsize;
        return {
          nameAt: table.readUInt32LE(at),
          type: table.readUInt32LE(at + 4),
          offset: Number(table.readBigUInt64LE(at + 24)),
          size: Number(table.readBigUInt64LE(at + 32)),
          link: table.readUInt32LE(at + 40),
        };
      });
      const names = readAt(fd, raw[shstrndx]!.offset, raw[shstrndx]!.size);
      const sections = raw.map(({ nameAt, ...s }) => ({ name: cString(names, nameAt), ...s }));
      return new ElfFile(fd, sections);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  read(section: ElfSection): Buffer {
    return readAt(this.fd, section.offset, section.size);
  }

  /** Names of the symbol versions this library defines (the first, the library's own name, included). */
  versionDefinitions(): string[] {
    const verdef = this.sections.find((s) => s.type === SHT_GNU_VERDEF);
    const strtab = verdef && this.sections[verdef.link];
    if (!verdef || !strtab) return [];
    const defs = this.read(verdef);
    const strings = this.read(strtab);
    const names: string[] = [];
    // Elf64_Verdef { u16 version, flags, ndx, cnt; u32 hash, aux, next } → Elf64_Verdaux { u32 name, next }
    for (let at = 0, guard = 0; at + 20 <= defs.length && guard < 4096; guard++) {
      const aux = at + defs.readUInt32LE(at + 12);
      if (aux + 8 <= defs.length) names.push(cString(strings, defs.readUInt32LE(aux)));
      const next = defs.readUInt32LE(at + 16);
      if (next === 0) break;
      at += next;
    }
    return names;
  }

  close(): void {
    closeSync(this.fd);
  }
}
