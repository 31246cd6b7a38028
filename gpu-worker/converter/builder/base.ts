// The parts every Yi-VL graph is made of (Linear, LayerNorm, RMSNorm, GELU, casts) and the write-out of one graph:
// weights are read from the checkpoint one tensor at a time, transformed, appended to the graph's external data
// file and dropped. One subclass per graph family assembles these parts (vision.ts, embeddings.ts, decoder.ts and
// the decoder variants).
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalData, float, Graph, int, type ValueInfo } from '../../onnx/graph.ts';
import { type DataTypeName, TensorDataType } from '../../onnx/proto.ts';
import type { Checkpoint } from '../../yi-vl/checkpoint/checkpoint.ts';
import { f32ToF16 } from '../../yi-vl/checkpoint/dtypes.ts';
import { quantizeInt4 } from '../int4.ts';

export type WeightDtype = 'fp32' | 'fp16' | 'int4';
export type ComputeDtype = 'float32' | 'float16';

export interface BuildOptions {
  dtype: WeightDtype;
  /** MatMulNBits block size (int4 only) */
  blockSize: number;
  /** MatMulNBits accuracy_level (int4 only): 0 = unset, 4 = int8 activations on CPU */
  accuracyLevel: number;
  /** activations and KV cache of int4 builds: float32 (CPU, default) or float16 (CUDA) */
  int4Compute?: ComputeDtype;
  onProgress?: (message: string) => void;
}

export interface BuiltGraph {
  file: string;
  dataFile: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** Slice end meaning "to the end" (clamped by onnxruntime); kept within double precision. */
export const TO_END = Number.MAX_SAFE_INTEGER;

/** Activation (and KV) dtype of a build: float16 for fp16, and for int4 when asked; float32 otherwise. */
export function computeDtypeOf(opts: Pick<BuildOptions, 'dtype' | 'int4Compute'>): ComputeDtype {
  return opts.dtype === 'fp16' || (opts.dtype === 'int4' && opts.int4Compute === 'float16') ? 'float16' : 'float32';
}

export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[base + c]!;
  }
  return out;
}

/** Row-major tensors stacked along their first dimension (packed QKV, gate|up). */
export function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function bytesOf(values: Float32Array, dtype: ComputeDtype): Uint8Array {
  if (dtype === 'float16') return new Uint8Array(f32ToF16(values).buffer);
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export abstract class GraphBuilder {
  readonly compute: ComputeDtype;

  constructor(
    protected readonly ckpt: Checkpoint,
    protected readonly opts: BuildOptions,
  ) {
    this.compute = computeDtypeOf(opts);
  }

  /** Writes `<base>.onnx` and `<base>.onnx.data` into `outDir`. */
  abstract build(outDir: string): BuiltGraph;

  protected progress(msg: string): void {
    this.opts.onProgress?.(msg);
  }

  /** An initializer from float32 values, stored as `dtype`. */
  protected weight(g: Graph, name: string, dims: number[], values: Float32Array, dtype = this.compute): string {
    return g.initializer(name, dtype, dims, bytesOf(values, dtype));
  }

  /** A shared scalar constant of the compute dtype. */
  protected scalar(g: Graph, value: number, dtype = this.compute): string {
    return g.constScalar(value, dtype, (v) => bytesOf(Float32Array.from(v), dtype));
  }

  /** Cast to `to`; with `output` the result gets that name (and the node `<output>/Cast`). */
  protected cast(g: Graph, x: string, to: DataTypeName, output?: string): string {
    const attrs = { to: int(TensorDataType[to]) };
    if (!output) return g.op('Cast', [x], attrs);
    return g.node('Cast', [x], attrs, { outputs: [output], name: `${output}/Cast` })[0]!;
  }

  /** float32 graph input → compute dtype (no node when they are the same). */
  protected toCompute(g: Graph, x: string): string {
    return this.compute === 'float32' ? x : this.cast(g, x, this.compute);
  }

  /** compute dtype → float32 graph output (no node when they are the same). */
  protected toFloat32(g: Graph, x: string): string {
    return this.compute === 'float32' ? x : this.cast(g, x, 'float32');
  }

  /**
   * y = x·Wᵀ (+ b) for a PyTorch Linear weight W [N, K]. Float weights become a MatMul initializer [K, N];
   * with `quantize` and dtype int4 they become MatMulNBits.
   */
  makeLinear(
    g: Graph,
    x: string,
    name: string,
    w: Float32Array,
    N: number,
    K: number,
    opts: { bias?: Float32Array; quantize?: boolean } = {},
  ): string {
    if (w.length !== N * K) throw new Error(`${name}: weight has ${w.length} values, expected ${N}×${K}`);
    if (opts.quantize && this.opts.dtype === 'int4') {
      const bs = this.opts.blockSize;
      const q = quantizeInt4(w, N, K, bs);
      const B = g.initializer(`${name}.qweight`, 'uint8', [N, q.kBlocks, bs / 2], q.packed);
      const S = this.weight(g, `${name}.scales`, [N * q.kBlocks], q.scales);
      const inputs = [x, B, S];
      if (opts.bias) inputs.push('', '', this.weight(g, `${name}.bias`, [N], opts.bias));
      return g.op(
        'MatMulNBits',
        inputs,
        { K: int(K), N: int(N), bits: int(4), block_size: int(bs), accuracy_level: int(this.opts.accuracyLevel) },
        { domain: 'com.microsoft', name: `${name}/MatMulNBits` },
      );
    }
    let y = g.op(
      'MatMul',
      [x, this.weight(g, `${name}.weight`, [K, N], transpose(w, N, K))],
      {},
      { name: `${name}/MatMul` },
    );
    if (opts.bias) y = g.op('Add', [y, this.weight(g, `${name}.bias`, [N], opts.bias)], {}, { name: `${name}/Add` });
    return y;
  }

  /** LayerNorm with affine weight and bias (ViT and projector). */
  makeLayerNorm(g: Graph, x: string, name: string, weight: Float32Array, bias: Float32Array, eps: number): string {
    const n = weight.length;
    return g.op(
      'LayerNormalization',
      [x, this.weight(g, `${name}.weight`, [n], weight), this.weight(g, `${name}.bias`, [n], bias)],
      { axis: int(-1), epsilon: float(eps) },
      { name: `${name}/LayerNorm` },
    );
  }

  /** RMSNorm; with `skip` it first adds the residual and also returns the sum (the next residual). */
  makeRmsNorm(
    g: Graph,
    x: string,
    name: string,
    weight: Float32Array,
    eps: number,
    skip?: string,
  ): { out: string; residual: string } {
    const gamma = this.weight(g, `${name}.weight`, [weight.length], weight);
    if (!skip) {
      const out = g.op(
        'SimplifiedLayerNormalization',
        [x, gamma],
        { axis: int(-1), epsilon: float(eps) },
        { name: `${name}/RMSNorm` },
      );
      return { out, residual: x };
    }
    const [out, , , residual] = g.node(
      'SkipSimplifiedLayerNormalization',
      [x, skip, gamma],
      { epsilon: float(eps) },
      {
        domain: 'com.microsoft',
        name: `${name}/SkipRMSNorm`,
        outputs: [`${name}/out`, '', '', `${name}/residual`],
      },
    );
    return { out: out!, residual: residual! };
  }

  /** GELU: exact (erf, the contrib Gelu op) or CLIP's quick_gelu x·σ(1.702x). */
  makeGelu(g: Graph, x: string, act: 'gelu' | 'quick_gelu'): string {
    if (act === 'gelu') return g.op('Gelu', [x], {}, { domain: 'com.microsoft' });
    return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, this.scalar(g, 1.702)])])]);
  }

  /**
   * Builds graph `name` into `<base>.onnx` (+ `<base>.onnx.data`, which `make` fills and which is closed even when
   * it throws) and reports its size.
   */
  protected writeGraph(
    outDir: string,
    base: string,
    name: string,
    make: (g: Graph, data: ExternalData) => void,
  ): BuiltGraph {
    const data = new ExternalData(join(outDir, `${base}.onnx.data`));
    const g = new Graph(name, data);
    try {
      make(g, data);
    } finally {
      data.close();
    }
    const file = `${base}.onnx`;
    writeFileSync(join(outDir, file), g.encode({ 'yi_vl.graph': base, 'yi_vl.dtype': this.opts.dtype }));
    const mib = statSync(join(outDir, `${base}.onnx.data`)).size / 2 ** 20;
    this.progress(`${file}: ${g.nodeCount} nodes, ${mib.toFixed(1)} MiB of weights`);
    return { file, dataFile: `${base}.onnx.data`, inputs: [...g.inputs], outputs: [...g.outputs] };
  }
}
