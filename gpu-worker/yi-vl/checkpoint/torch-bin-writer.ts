// Writes state dicts in torch.save's zip format (protocol-2 pickle + stored entries), for test checkpoints in the
// official pytorch_model-*.bin layout. `zip64` forces the zip64 records that torch writes for files over 4 GiB
// (sizes and offsets themselves must stay below 4 GiB here). Read back by TorchBinFile.
import { closeSync, openSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import type { SafetensorsDtype, TensorToWrite } from './safetensors.ts';

const STORAGE: Partial<Record<SafetensorsDtype, string>> = {
  F32: 'FloatStorage',
  F16: 'HalfStorage',
  BF16: 'BFloat16Storage',
};

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

class PickleWriter {
  private parts: Buffer[] = [];
  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    this.parts.push(Buffer.from([0x58]), len, b); // BINUNICODE
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 2 ** 31) {
      const b = Buffer.alloc(5);
      b[0] = 0x4a; // BININT
      b.writeInt32LE(n, 1);
      this.parts.push(b);
    } else {
      const b = Buffer.alloc(10);
      b[0] = 0x8a; // LONG1, 8 bytes
      b[1] = 8;
      b.writeBigInt64LE(BigInt(n), 2);
      this.parts.push(b);
    }
    return this;
  }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this;
  }
  tuple(values: number[]): this {
    this.op(0x28);
    for (const v of values) this.int(v);
    return this.op(0x74);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function statePickle(tensors: TensorToWrite[]): Buffer {
  const w = new PickleWriter();
  w.op(0x80, 2).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x28); // OrderedDict(), MARK
  tensors.forEach((t, key) => {
    const storage = STORAGE[t.dtype];
    if (!storage) throw new Error(`torch writer: unsupported dtype ${t.dtype}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    w.str(t.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    w.op(0x28).str('storage').global('torch', storage).str(String(key)).str('cpu').int(numel).op(0x74, 0x51); // BINPERSID
    w.int(0).tuple(t.shape).tuple(strides).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52);
    w.op(0x74, 0x52); // TUPLE, REDUCE
  });
  return w.op(0x75, 0x2e).bytes(); // SETITEMS, STOP
}

export function writeTorchBin(path: string, tensors: TensorToWrite[], opts: { zip64?: boolean } = {}): void {
  const z64 = opts.zip64 === true;
  const stem = basename(path).replace(/\.bin$/, '');
  const files: [string, Uint8Array][] = [
    [`${stem}/data.pkl`, statePickle(tensors)],
    [`${stem}/byteorder`, Buffer.from('little')],
    ...tensors.map((t, k): [string, Uint8Array] => [`${stem}/data/${k}`, t.data]),
    [`${stem}/version`, Buffer.from('3\n')],
  ];
  const fd = openSync(path, 'w');
  const central: Buffer[] = [];
  let pos = 0;
  const write = (b: Uint8Array) => {
    let done = 0;
    while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done);
    pos += b.byteLength;
  };
  try {
    for (const [name, data] of files) {
      const nameBuf = Buffer.from(name, 'utf8');
      const crc = crc32(data);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(z64 ? 45 : 20, 4);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(z64 ? 0xffffffff : data.byteLength, 18);
      local.writeUInt32LE(z64 ? 0xffffffff : data.byteLength, 22);
      local.writeUInt16LE(nameBuf.length, 26);
      const localExtra = Buffer.alloc(z64 ? 20 : 0);
      if (z64) {
        localExtra.writeUInt16LE(0x0001, 0);
        localExtra.writeUInt16LE(16, 2);
        localExtra.writeBigUInt64LE(BigInt(data.byteLength), 4);
        localExtra.writeBigUInt64LE(BigInt(data.byteLength), 12);
      }
      local.writeUInt16LE(localExtra.length, 28);
      const offset = pos;
      write(local);
      write(nameBuf);
      write(localExtra);
      write(data);
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE(20, 4);
      cd.writeUInt16LE(z64 ? 45 : 20, 6);
      cd.writeUInt32LE(crc, 16);
      cd.writeUInt32LE(z64 ? 0xffffffff : data.byteLength, 20);
      cd.writeUInt32LE(z64 ? 0xffffffff : data.byteLength, 24);
      cd.writeUInt16LE(nameBuf.length, 28);
      cd.writeUInt32LE(z64 ? 0xffffffff : offset, 42);
      const cdExtra = Buffer.alloc(z64 ? 28 : 0);
      if (z64) {
        cdExtra.writeUInt16LE(0x0001, 0);
        cdExtra.writeUInt16LE(24, 2);
        cdExtra.writeBigUInt64LE(BigInt(data.byteLength), 4);
        cdExtra.writeBigUInt64LE(BigInt(data.byteLength), 12);
        cdExtra.writeBigUInt64LE(BigInt(offset), 20);
      }
      cd.writeUInt16LE(cdExtra.length, 30);
      central.push(cd, nameBuf, cdExtra);
    }
    const cdBuf = Buffer.concat(central);
    const cdOffset = pos;
    write(cdBuf);
    if (z64) {
      const rec = Buffer.alloc(56);
      rec.writeUInt32LE(0x06064b50, 0);
      rec.writeBigUInt64LE(44n, 4);
      rec.writeUInt16LE(45, 12);
      rec.writeUInt16LE(45, 14);
      rec.writeBigUInt64LE(BigInt(files.length), 24);
      rec.writeBigUInt64LE(BigInt(files.length), 32);
      rec.writeBigUInt64LE(BigInt(cdBuf.length), 40);
      rec.writeBigUInt64LE(BigInt(cdOffset), 48);
      const recOffset = pos;
      write(rec);
      const loc = Buffer.alloc(20);
      loc.writeUInt32LE(0x07064b50, 0);
      loc.writeBigUInt64LE(BigInt(recOffset), 8);
      loc.writeUInt32LE(1, 16);
      write(loc);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(z64 ? 0xffff : files.length, 8);
    end.writeUInt16LE(z64 ? 0xffff : files.length, 10);
    end.writeUInt32LE(z64 ? 0xffffffff : cdBuf.length, 12);
    end.writeUInt32LE(z64 ? 0xffffffff : cdOffset, 16);
    write(end);
  } finally {
    closeSync(fd);
  }
}
