// Builds the Yi-VL graphs from a checkpoint, one graph family per file under builder/:
//   vision.onnx        CLIP ViT vision tower + the two-layer MLP projector with LayerNorms  (builder/vision.ts)
//   embed_tokens.onnx  the LLM's token embeddings                                          (builder/embeddings.ts)
//   decoder.onnx       the Llama-style LLM with GroupQueryAttention and a shared KV buffer  (builder/decoder.ts)
//   decoder_loop.onnx  K decode steps per run in an ONNX Loop, next-token choice included   (builder/loop-decoder.ts,
//                      builder/next-token.ts)
// and, outside the pipeline's model format, the plain-op decoder baseline (builder/plain-decoder.ts). The parts
// they share are in builder/base.ts.
import type { Checkpoint } from '../yi-vl/checkpoint/checkpoint.ts';
import { type BuildOptions, type BuiltGraph, type ComputeDtype, computeDtypeOf } from './builder/base.ts';
import { DecoderGraphBuilder } from './builder/decoder.ts';
import { EmbeddingsGraphBuilder } from './builder/embeddings.ts';
import { LoopDecoderGraphBuilder } from './builder/loop-decoder.ts';
import { PlainDecoderGraphBuilder } from './builder/plain-decoder.ts';
import { VisionGraphBuilder } from './builder/vision.ts';

export type { BuildOptions, BuiltGraph, ComputeDtype, WeightDtype } from './builder/base.ts';

export class YiVlModelBuilder {
  /** activation and KV cache dtype of the graphs */
  readonly compute: ComputeDtype;

  constructor(
    private readonly ckpt: Checkpoint,
    private readonly opts: BuildOptions,
  ) {
    this.compute = computeDtypeOf(opts);
  }

  buildVision(outDir: string): BuiltGraph {
    return new VisionGraphBuilder(this.ckpt, this.opts).build(outDir);
  }

  buildEmbed(outDir: string): BuiltGraph {
    return new EmbeddingsGraphBuilder(this.ckpt, this.opts).build(outDir);
  }

  buildDecoder(outDir: string): BuiltGraph {
    return new DecoderGraphBuilder(this.ckpt, this.opts).build(outDir);
  }

  /** The benchmark baseline: the same decoder from standard ops, growing KV; the pipeline refuses it. */
  buildPlainDecoder(outDir: string): BuiltGraph {
    return new PlainDecoderGraphBuilder(this.ckpt, this.opts).build(outDir);
  }

  /** `decoder_loop.onnx`: K tokens per run() in an ONNX Loop, sampling included (its weights shared with decoder.onnx). */
  buildLoopDecoder(outDir: string): BuiltGraph {
    return new LoopDecoderGraphBuilder(this.ckpt, this.opts).build(outDir);
  }
}
