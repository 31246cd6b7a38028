// Streaming safetensors access: only the JSON header is parsed up front; tensors are read by offset on demand.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { bf16ToF32, f16ToF32 } from './dtypes.ts';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** absolute byte offset in the file */
  offset: number;
  byteLength: number;
}

/** What the checkpoint layer needs from a weights file (safetensors or PyTorch zip). */
export interface TensorFile {
  readonly path: string;
  readonly tensors: Map<string, TensorInfo>;
  readBytes(name: string): Uint8Array;
  readF32(name: string): Float32Array;
  close(): void;
}

export const DTYPE_BYTES = BYTES;

/** What both weights-file readers share: the open file, range reads, float32 widening and close(). */
export abstract class OpenTensorFile<I extends TensorInfo = TensorInfo> implements TensorFile {
  readonly tensors = new Map<string, I>();
  protected fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
  }

  abstract readBytes(name: string): Uint8Array;

  /** `length` bytes at `offset` (read in chunks of at most 1 GiB). */
  protected readRange(offset: number, length: number): Uint8Array {
    if (this.fd === null) throw new Error(`${this.path}: closed`);
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, Math.min(length - done, 1 << 30), offset + done);
      if (n <= 0) throw new Error(`${this.path}: short read`);
      done += n;
    }
    return buf;
  }

  /** Reads one float tensor and widens it to float32. */
  readF32(name: string): Float32Array {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: no tensor ${name}`);
    return decodeF32(info.dtype, this.readBytes(name), `${this.path}: tensor ${name}`);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** Widens float tensor bytes (F32, BF16, F16, F64) to float32. */
export function decodeF32(dtype: SafetensorsDtype, bytes: Uint8Array, label: string): Float32Array {
  const n = bytes.byteLength / BYTES[dtype];
  // Typed-array views need aligned offsets; copy when a buffer slice is not.
  const aligned = bytes.byteOffset % BYTES[dtype] === 0 ? bytes : bytes.slice();
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'BF16':
      return bf16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
    case 'F16':
      return f16ToF32(new Uint16Array(aligned.buffer, aligned.byteOffset, n));
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, n));
    default:
      throw new Error(`${label} is ${dtype}, not a float tensor`);
  }
}

export class SafetensorsFile extends OpenTensorFile {
  readonly metadata: Record<string, string>;

  constructor(path: string) {
    super(path);
    const fd = this.fd!;
    const size = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new Error(`${path}: not a safetensors file`);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > 100_000_000 || 8 + headerLen > size) throw new Error(`${path}: bad safetensors header length`);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}: safetensors header is not JSON`);
    }
    const base = 8 + headerLen;
    this.metadata = (header.__metadata__ as Record<string, string> | undefined) ?? {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
      if (!(t.dtype in BYTES)) throw new Error(`${path}: tensor ${name} has unsupported dtype ${t.dtype}`);
      const dtype = t.dtype as SafetensorsDtype;
      const [begin, end] = t.data_offsets;
      const count = t.shape.reduce((a, b) => a * b, 1);
      if (end - begin !== count * BYTES[dtype] || base + end > size) {
        throw new Error(`${path}: tensor ${name} has inconsistent offsets`);
      }
      this.tensors.set(name, { dtype, shape: t.shape, offset: base + begin, byteLength: end - begin });
    }
  }

  readBytes(name: string): Uint8Array {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: no tensor ${name}`);
    return this.readRange(info.offset, info.byteLength);
  }
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** Writes a safetensors file; the header is space-padded to an 8-byte boundary like the reference writer. */
export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (t.data.byteLength !== expected)
      throw new Error(`tensor ${t.name}: ${t.data.byteLength} bytes, expected ${expected}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBuf = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBuf.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, jsonBuf);
    for (const t of tensors) writeSync(fd, t.data);
  } finally {
    closeSync(fd);
  }
}
