// Token embeddings for decode steps read straight from embed_tokens.onnx's external data file (one row per token
// by file offset, served from the page cache), instead of one embed_tokens session.run() per generated token:
// a run() has a fixed cost that is a visible share of a fast decode step.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { DataLocation, decodeModel, TensorProto } from '../../onnx/proto.ts';
import { f16ToF32 } from '../checkpoint/dtypes.ts';

interface TensorInfo {
  name?: string;
  dims?: number[];
  dataType?: number;
  dataLocation?: number;
  externalData?: { key: string; value: string }[];
}

export class EmbeddingTable {
  private constructor(
    private readonly fd: number,
    private readonly offset: number,
    readonly vocabSize: number,
    readonly hiddenSize: number,
    private readonly fp16: boolean,
  ) {}

  /** Opens the table of a converted model, or returns null when the graph is not laid out as expected. */
  static open(dir: string, graphFile: string, vocabSize: number, hiddenSize: number): EmbeddingTable | null {
    const model = decodeModel(readFileSync(join(dir, graphFile))) as { graph?: { initializer?: TensorInfo[] } };
    const t = model.graph?.initializer?.find((i) => i.name === 'embed_tokens.weight');
    if (t?.dataLocation !== DataLocation.EXTERNAL || t.dims?.[0] !== vocabSize || t.dims?.[1] !== hiddenSize)
      return null;
    if (t.dataType !== TensorProto.FLOAT && t.dataType !== TensorProto.FLOAT16) return null;
    const ext = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const bytes = t.dataType === TensorProto.FLOAT ? 4 : 2;
    if (!ext.location || Number(ext.length) !== vocabSize * hiddenSize * bytes) return null;
    const fd = openSync(join(dir, ext.location), 'r');
    return new EmbeddingTable(fd, Number(ext.offset ?? 0), vocabSize, hiddenSize, t.dataType === TensorProto.FLOAT16);
  }

  /** float32 embeddings of `ids`, [ids.length · hidden] */
  rows(ids: readonly number[]): Float32Array {
    const H = this.hiddenSize;
    const out = new Float32Array(ids.length * H);
    const rowBytes = H * (this.fp16 ? 2 : 4);
    const buf = new Uint8Array(rowBytes);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`token id ${id} out of range`);
      let done = 0;
      while (done < rowBytes) {
        const n = readSync(this.fd, buf, done, rowBytes - done, this.offset + id * rowBytes + done);
        if (n <= 0) throw new Error('embedding table file is truncated');
        done += n;
      }
      out.set(this.fp16 ? f16ToF32(new Uint16Array(buf.buffer)) : new Float32Array(buf.buffer), i * H);
    });
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}
