// Checkpoint folder → converted model folder (the ONNX graphs with external data + manifest.json).
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { ValueInfo } from '../onnx/graph.ts';
import { openCheckpoint } from '../yi-vl/checkpoint/checkpoint.ts';
import { type BuiltGraph, type WeightDtype, YiVlModelBuilder } from './model-builder.ts';
import { CONVERTER_VERSION, FORMAT, FORMAT_VERSION } from './version.ts';

export interface ConvertOptions {
  checkpoint: string;
  out: string;
  dtype: WeightDtype;
  blockSize?: number;
  accuracyLevel?: number;
  /** int4 only: activation / KV dtype (float32 for CPU, float16 for CUDA) */
  int4Compute?: 'float32' | 'float16';
  /**
   * decoder layout: 'gqa' (default; GroupQueryAttention + SimplifiedLayerNorm, shared KV buffer — what the
   * pipeline runs) or 'plain' (standard ops only, growing concatenated KV: a benchmark baseline, not loadable by
   * the pipeline)
   */
  decoderAttention?: 'gqa' | 'plain';
  /**
   * also write `decoder_loop.onnx`, the in-graph decode loop the pipeline decodes with (K tokens per run; default
   * true with the 'gqa' decoder). Its weights are those of decoder.onnx, referenced in decoder.onnx.data, not copied.
   */
  decoderLoop?: boolean;
  onProgress?: (message: string) => void;
}

export interface GraphManifest {
  file: string;
  dataFile: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: number;
  converter: { name: string; version: string };
  createdAt: string;
  dtype: WeightDtype;
  computeDtype: 'float32' | 'float16';
  int4: { blockSize: number; accuracyLevel: number; symmetric: true } | null;
  source: {
    config: Record<string, unknown>;
    visionConfig: Record<string, unknown>;
    generationConfig: Record<string, unknown> | null;
    visionTowerPath: string;
    checkpointDtype: string;
  };
  dims: {
    vision: ReturnType<typeof openCheckpoint>['config']['vision'];
    llm: ReturnType<typeof openCheckpoint>['config']['llm'];
    imageTokens: number;
  };
  tokens: { bos: number; eos: number; pad: number; imageTokenIndex: -200 };
  graphs: {
    vision: GraphManifest;
    embedTokens: GraphManifest;
    decoder: GraphManifest & { kvDtype: 'float32' | 'float16'; numLayers: number; attention: 'gqa' | 'plain' };
    /** the in-graph decode loop (absent when converted without it) */
    decoderLoop?: GraphManifest;
  };
  files: Record<string, { bytes: number; sha256: string }>;
}

/** Files copied unchanged from the checkpoint when present (tokenizer.model and config.json are required). */
const COPIED = [
  'tokenizer.model',
  'config.json',
  'generation_config.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'NOTICE.md',
];
const GRAPH_FILES = [
  'vision.onnx',
  'vision.onnx.data',
  'embed_tokens.onnx',
  'embed_tokens.onnx.data',
  'decoder.onnx',
  'decoder.onnx.data',
];
const LOOP_FILES = ['decoder_loop.onnx', 'decoder_loop.onnx.data'];

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function convertCheckpoint(opts: ConvertOptions): Promise<Manifest> {
  const progress = opts.onProgress ?? (() => {});
  const blockSize = opts.blockSize ?? 32;
  const accuracyLevel = opts.accuracyLevel ?? 0;
  if (!['fp32', 'fp16', 'int4'].includes(opts.dtype))
    throw new Error(`unknown dtype ${opts.dtype} (fp32, fp16 or int4)`);
  const ckpt = openCheckpoint(opts.checkpoint);
  const out = resolve(opts.out);
  if (!existsSync(join(ckpt.dir, 'tokenizer.model'))) {
    ckpt.close();
    throw new Error(`missing file: ${join(ckpt.dir, 'tokenizer.model')}`);
  }
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  try {
    const builder = new YiVlModelBuilder(ckpt, {
      dtype: opts.dtype,
      blockSize,
      accuracyLevel,
      int4Compute: opts.int4Compute ?? 'float32',
      onProgress: progress,
    });
    written.push(...GRAPH_FILES);
    const vision = builder.buildVision(out);
    const embed = builder.buildEmbed(out);
    const attention = opts.decoderAttention ?? 'gqa';
    const decoder = attention === 'plain' ? builder.buildPlainDecoder(out) : builder.buildDecoder(out);
    let decoderLoop: BuiltGraph | undefined;
    if (attention === 'gqa' && (opts.decoderLoop ?? true)) {
      written.push(...LOOP_FILES);
      decoderLoop = builder.buildLoopDecoder(out);
    } else {
      for (const f of LOOP_FILES) rmSync(join(out, f), { force: true }); // not left from an earlier conversion
    }
    for (const f of COPIED) {
      if (!existsSync(join(ckpt.dir, f))) continue;
      rmSync(join(out, f), { force: true });
      copyFileSync(join(ckpt.dir, f), join(out, f));
      chmodSync(join(out, f), 0o644);
      written.push(f);
    }
    progress('hashing files');
    const files: Manifest['files'] = {};
    for (const f of written) files[f] = { bytes: statSync(join(out, f)).size, sha256: await sha256File(join(out, f)) };
    const { config } = ckpt;
    const gen = ckpt.generationConfig;
    const mainDtypes = [...new Set(ckpt.main.names().map((n) => ckpt.main.info(n).dtype))];
    const toGraph = (b: BuiltGraph): GraphManifest => ({
      file: b.file,
      dataFile: b.dataFile,
      inputs: b.inputs,
      outputs: b.outputs,
    });
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      converter: { name: 'yi-vl-pipeline/gpu-worker/converter', version: CONVERTER_VERSION },
      createdAt: new Date().toISOString(),
      dtype: opts.dtype,
      computeDtype: builder.compute,
      int4: opts.dtype === 'int4' ? { blockSize, accuracyLevel, symmetric: true } : null,
      source: {
        config: ckpt.rawConfig,
        visionConfig: ckpt.rawVisionConfig,
        generationConfig: gen,
        visionTowerPath: ckpt.visionTowerPath,
        checkpointDtype: mainDtypes.join(','),
      },
      dims: { vision: config.vision, llm: config.llm, imageTokens: config.vision.numPatches },
      tokens: {
        bos: typeof gen?.bos_token_id === 'number' ? gen.bos_token_id : config.bosTokenId,
        eos: typeof gen?.eos_token_id === 'number' ? gen.eos_token_id : config.eosTokenId,
        pad: typeof gen?.pad_token_id === 'number' ? gen.pad_token_id : 0,
        imageTokenIndex: -200,
      },
      graphs: {
        vision: toGraph(vision),
        embedTokens: toGraph(embed),
        decoder: { ...toGraph(decoder), kvDtype: builder.compute, numLayers: config.llm.numLayers, attention },
        ...(decoderLoop ? { decoderLoop: toGraph(decoderLoop) } : {}),
      },
      files,
    };
    writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    progress('done');
    return manifest;
  } catch (e) {
    for (const f of written) rmSync(join(out, f), { force: true });
    if (existsSync(out) && readdirSync(out).length === 0) rmSync(out, { recursive: true, force: true });
    throw e;
  } finally {
    ckpt.close();
  }
}

/**
 * Writes the in-graph decode loop (`decoder_loop.onnx` + data, see builder/loop-decoder.ts) into `out` beside a
 * conversion of the same checkpoint (which convertCheckpoint already does by default); its weights are referenced
 * in the decoder's data file when it is there. Does not update manifest.json.
 */
export function buildDecoderLoop(
  opts: Pick<ConvertOptions, 'checkpoint' | 'out' | 'dtype' | 'int4Compute' | 'blockSize' | 'onProgress'>,
): BuiltGraph {
  const ckpt = openCheckpoint(opts.checkpoint);
  try {
    const builder = new YiVlModelBuilder(ckpt, {
      dtype: opts.dtype,
      blockSize: opts.blockSize ?? 32,
      accuracyLevel: 0,
      int4Compute: opts.int4Compute ?? 'float32',
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    return builder.buildLoopDecoder(resolve(opts.out));
  } finally {
    ckpt.close();
  }
}
