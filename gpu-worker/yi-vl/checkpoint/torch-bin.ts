// Reads PyTorch zip checkpoints (torch.save ≥ 1.6, e.g. pytorch_model-00001-of-00002.bin) without Python:
// the pickle is interpreted by a restricted unpickler and tensor bytes are read by offset from stored entries.
import { fstatSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { type StorageRef, type TensorRef, unpickle } from './pickle.ts';
import { DTYPE_BYTES, OpenTensorFile, type SafetensorsDtype, type TensorInfo } from './safetensors.ts';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip.ts';

const STORAGE_DTYPES: Record<string, SafetensorsDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

interface TorchTensorInfo extends TensorInfo {
  /** element strides when the view is not contiguous; offset then points at the storage start */
  strides?: number[];
  storageOffset: number;
}

export class TorchBinFile extends OpenTensorFile<TorchTensorInfo> {
  constructor(path: string) {
    super(path);
    try {
      this.load(this.fd!);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private load(fd: number): void {
    const size = fstatSync(fd).size;
    let entries: Map<string, ZipEntry>;
    try {
      entries = readZipDirectory(fd, size, this.path);
    } catch {
      throw new Error(
        `${this.path}: not a zip-format PyTorch checkpoint (legacy torch.save files are unsupported; re-save it or use safetensors)`,
      );
    }
    const pkl = [...entries.values()].find((e) => e.name.endsWith('data.pkl'));
    if (!pkl) throw new Error(`${this.path}: no data.pkl in archive`);
    const prefix = pkl.name.slice(0, -'data.pkl'.length);
    const raw = readZipEntry(fd, pkl);
    const root = unpickle(pkl.method === 8 ? inflateRawSync(raw) : raw);
    if (!(root instanceof Map)) throw new Error(`${this.path}: pickle is not a state dict`);
    for (const [name, value] of root) {
      if (typeof name !== 'string' || (value as TensorRef | null)?.kind !== 'tensor') continue;
      const t = value as TensorRef;
      this.tensors.set(name, this.describe(name, t, entries.get(`${prefix}data/${t.storage.key}`), t.storage));
    }
  }

  private describe(name: string, t: TensorRef, entry: ZipEntry | undefined, storage: StorageRef): TorchTensorInfo {
    const dtype = STORAGE_DTYPES[storage.storageType];
    if (!dtype) throw new Error(`${this.path}: tensor ${name} has unsupported storage ${storage.storageType}`);
    if (!entry) throw new Error(`${this.path}: storage ${storage.key} of ${name} missing`);
    if (entry.method !== 0) throw new Error(`${this.path}: storage ${storage.key} is compressed`);
    const elem = DTYPE_BYTES[dtype];
    const numel = t.size.reduce((a, b) => a * b, 1);
    let maxIndex = t.storageOffset;
    for (let d = 0; d < t.size.length; d++) maxIndex += (t.size[d]! - 1) * t.stride[d]!;
    if (numel > 0 && (maxIndex + 1) * elem > entry.size)
      throw new Error(`${this.path}: tensor ${name} exceeds its storage`);
    let expected = 1;
    let contiguous = true;
    for (let d = t.size.length - 1; d >= 0; d--) {
      if (t.size[d] !== 1 && t.stride[d] !== expected) contiguous = false;
      expected *= t.size[d]!;
    }
    const base = { dtype, shape: t.size, byteLength: numel * elem, storageOffset: t.storageOffset };
    return contiguous
      ? { ...base, offset: entry.dataOffset + t.storageOffset * elem }
      : { ...base, offset: entry.dataOffset, strides: t.stride };
  }

  /** Tensor bytes in row-major order (strided views are gathered). */
  readBytes(name: string): Uint8Array {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: no tensor ${name}`);
    if (!info.strides) return this.readRange(info.offset, info.byteLength);
    const elem = DTYPE_BYTES[info.dtype];
    const { shape, strides, storageOffset } = info;
    let span = storageOffset;
    for (let d = 0; d < shape.length; d++) span += (shape[d]! - 1) * strides[d]!;
    const storage = this.readRange(info.offset, (span + 1) * elem);
    const out = new Uint8Array(info.byteLength);
    const idx = new Array<number>(shape.length).fill(0);
    for (let i = 0; i < info.byteLength / elem; i++) {
      let src = storageOffset;
      for (let d = 0; d < shape.length; d++) src += idx[d]! * strides[d]!;
      out.set(storage.subarray(src * elem, (src + 1) * elem), i * elem);
      for (let d = shape.length - 1; d >= 0; d--) {
        if (++idx[d]! < shape[d]!) break;
        idx[d] = 0;
      }
    }
    return out;
  }
}
