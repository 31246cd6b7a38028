// A minimal ONNX graph builder: nodes, inputs/outputs and initializers, with weights streamed to an external file.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { AttrType, DataLocation, type DataTypeName, decodeModel, encodeModel, TensorDataType } from './proto.ts';

export type Dim = number | string;
export type Attr =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: number[] }
  | { kind: 'floats'; v: number[] }
  | { kind: 'string'; v: string }
  | { kind: 'graph'; v: Graph };

export const int = (v: number): Attr => ({ kind: 'int', v });
export const float = (v: number): Attr => ({ kind: 'float', v });
export const ints = (v: number[]): Attr => ({ kind: 'ints', v });
export const str = (v: string): Attr => ({ kind: 'string', v });
/** a subgraph attribute (Loop body, If branches) */
export const graphAttr = (v: Graph): Attr => ({ kind: 'graph', v });

export interface ValueInfo {
  name: string;
  dtype: DataTypeName;
  shape: Dim[];
}

const ALIGN = 64;
/** Large tensors start on 64 KiB boundaries (the coarsest mmap granularity), so they can be mapped in place. */
const LARGE = 1 << 20;
const LARGE_ALIGN = 1 << 16;
/** Initializers at most this large stay inside the .onnx file. */
const INLINE_LIMIT = 128;

/** Where an initializer's bytes are: a data file beside the graph, and the range in it. */
export interface StoredBytes {
  location: string;
  offset: number;
  length: number;
}

/** The external initializers of a graph file (its main graph's), by name. */
export function storedInitializers(graphPath: string): Map<string, StoredBytes> {
  const model = decodeModel(readFileSync(graphPath)) as {
    graph?: {
      initializer?: { name?: string; dataLocation?: number; externalData?: { key: string; value: string }[] }[];
    };
  };
  const out = new Map<string, StoredBytes>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataLocation !== DataLocation.EXTERNAL || !t.name) continue;
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    if (kv.location)
      out.set(t.name, { location: kv.location, offset: Number(kv.offset ?? 0), length: Number(kv.length) });
  }
  return out;
}

/** Whether the file at `path` holds exactly `bytes` at `offset`. */
function holds(path: string, offset: number, bytes: Uint8Array): boolean {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(bytes.byteLength, 1 << 24));
    for (let done = 0; done < bytes.byteLength; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, bytes.byteLength - done), offset + done);
      if (n <= 0 || Buffer.compare(chunk.subarray(0, n), bytes.subarray(done, done + n)) !== 0) return false;
      done += n;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * Append-only writer for an ONNX external data file. With `share`, an initializer that another graph of the same
 * folder already stores (same name, same bytes) is referenced there instead of written again.
 */
export class ExternalData {
  private fd: number;
  private pos = 0;
  readonly location: string;
  private readonly shared = new Map<string, StoredBytes>();

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    this.location = basename(path);
  }

  /** Offers the initializers of `graphPath` (a graph in the same folder) for reuse. */
  share(graphPath: string): void {
    for (const [name, at] of storedInitializers(graphPath)) if (!this.shared.has(name)) this.shared.set(name, at);
  }

  /** Stores `bytes` (reusing a shared copy of initializer `name` when it is the same) and says where they are. */
  append(bytes: Uint8Array, name?: string): StoredBytes {
    const found = name === undefined ? undefined : this.shared.get(name);
    if (
      found &&
      found.length === bytes.byteLength &&
      holds(join(dirname(this.path), found.location), found.offset, bytes)
    ) {
      return found;
    }
    const align = bytes.byteLength >= LARGE ? LARGE_ALIGN : ALIGN;
    const padding = (align - (this.pos % align)) % align;
    if (padding) {
      writeSync(this.fd, new Uint8Array(padding));
      this.pos += padding;
    }
    const offset = this.pos;
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done);
    this.pos += bytes.byteLength;
    return { location: this.location, offset, length: bytes.byteLength };
  }

  get size(): number {
    return this.pos;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function attrProto(name: string, a: Attr): Record<string, unknown> {
  switch (a.kind) {
    case 'int':
      return { name, type: AttrType.INT, i: a.v };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.v };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.v };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.v };
    case 'string':
      return { name, type: AttrType.STRING, s: Buffer.from(a.v, 'utf8') };
    case 'graph':
      return { name, type: AttrType.GRAPH, g: a.v.toProto() };
  }
}

function valueInfoProto(v: ValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: TensorDataType[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class Graph {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();
  usesMicrosoftDomain = false;

  constructor(
    readonly name: string,
    /** where large initializers go; null for small in-memory graphs that have none */
    private readonly data: ExternalData | null,
    /**
     * prepended to generated node, value and constant names: a subgraph (Loop body, If branch) needs its own, since
     * a name it defines must not repeat one of an enclosing graph
     */
    private readonly prefix = '',
  ) {}

  input(name: string, dtype: DataTypeName, shape: Dim[]): string {
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  output(name: string, dtype: DataTypeName, shape: Dim[]): void {
    this.outputs.push({ name, dtype, shape });
  }

  /** Adds a node; returns its output names (generated from `name` unless given). */
  node(
    op: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; outputs?: number | string[]; name?: string } = {},
  ): string[] {
    const base = opts.name ?? `${this.prefix}${op}_${this.counter++}`;
    const outs =
      typeof opts.outputs === 'object'
        ? opts.outputs
        : Array.from({ length: opts.outputs ?? 1 }, (_, k) => (k === 0 ? `${base}/out` : `${base}/out${k}`));
    if (opts.domain === 'com.microsoft') this.usesMicrosoftDomain = true;
    this.nodes.push({
      name: base,
      opType: op,
      domain: opts.domain ?? '',
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, a]) => attrProto(k, a)),
    });
    return outs;
  }

  /** Single-output convenience form of node(). */
  op(
    op: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    opts: { domain?: string; name?: string } = {},
  ): string {
    return this.node(op, inputs, attrs, opts)[0]!;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Adds an initializer; large ones go to the external data file. */
  initializer(name: string, dtype: DataTypeName, dims: number[], bytes: Uint8Array): string {
    const t: Record<string, unknown> = { name, dims, dataType: TensorDataType[dtype] };
    if (bytes.byteLength <= INLINE_LIMIT) {
      t.rawData = bytes;
    } else {
      if (!this.data) throw new Error(`${this.name}: initializer ${name} needs an external data file`);
      const { location, offset, length } = this.data.append(bytes, name);
      t.dataLocation = DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ];
    }
    this.initializers.push(t);
    return name;
  }

  /** Shared small int64 constant (e.g. shapes and axes). */
  constInt64(values: number[], scalar = false): string {
    const key = `i64:${scalar ? 's' : ''}${values.join(',')}`;
    const found = this.constants.get(key);
    if (found) return found;
    const name = `${this.prefix}const_i64_${this.constants.size}`;
    const buf = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializer(name, 'int64', scalar ? [] : [values.length], new Uint8Array(buf.buffer));
    this.constants.set(key, name);
    return name;
  }

  constScalar(value: number, dtype: 'float32' | 'float16' | 'float64', toBytes: (v: number[]) => Uint8Array): string {
    const key = `${dtype}:${value}`;
    const found = this.constants.get(key);
    if (found) return found;
    const name = `${this.prefix}const_${dtype}_${this.constants.size}`;
    this.initializer(name, dtype, [], toBytes([value]));
    this.constants.set(key, name);
    return name;
  }

  /** The GraphProto fields (also used for subgraph attributes). */
  toProto(): Record<string, unknown> {
    return {
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs.map(valueInfoProto),
      output: this.outputs.map(valueInfoProto),
    };
  }

  encode(meta: Record<string, string> = {}, producerVersion = '0'): Uint8Array {
    const opsetImport: Record<string, unknown>[] = [{ domain: '', version: 17 }];
    if (this.usesMicrosoftDomain) opsetImport.push({ domain: 'com.microsoft', version: 1 });
    return encodeModel({
      irVersion: 8,
      opsetImport,
      producerName: 'yi-vl-pipeline converter',
      producerVersion,
      graph: this.toProto(),
      metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    });
  }
}
