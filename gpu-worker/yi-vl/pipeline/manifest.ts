// Reads the converted model folder's manifest.json (docs/model-format.md) and checks the parts the pipeline uses.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GenerationConfigJson } from '../generation/params.ts';

export interface IoInfo {
  name: string;
  dtype: string;
  shape: (number | string)[];
}

export interface GraphInfo {
  file: string;
  inputs: IoInfo[];
  outputs: IoInfo[];
}

export interface ModelManifest {
  format: 'yi-vl-onnx';
  formatVersion: number;
  dtype: 'fp32' | 'fp16' | 'int4';
  computeDtype: 'float32' | 'float16';
  dims: {
    vision: { imageSize: number; numPatches: number };
    llm: {
      hiddenSize: number;
      numLayers: number;
      numKvHeads: number;
      headDim: number;
      vocabSize: number;
      maxPositionEmbeddings: number;
    };
    imageTokens: number;
  };
  tokens: { bos: number; eos: number; pad: number; imageTokenIndex: number };
  graphs: Record<'vision' | 'embedTokens' | 'decoder', GraphInfo> & {
    decoder: { attention?: 'gqa' | 'plain' };
    /** the in-graph decode loop; absent in folders converted before it existed or with --no-decoder-loop */
    decoderLoop?: GraphInfo;
  };
  source?: { generationConfig?: GenerationConfigJson | null };
}

export class ModelDirError extends Error {
  override name = 'ModelDirError';
}

export function readManifest(dir: string): ModelManifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) {
    throw new ModelDirError(
      `${dir} has no manifest.json: not a converted Yi-VL model folder (see docs/model-format.md)`,
    );
  }
  let m: ModelManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ModelManifest;
  } catch (err) {
    throw new ModelDirError(`${path}: ${(err as Error).message}`);
  }
  if (m.format !== 'yi-vl-onnx' || m.formatVersion !== 1) {
    throw new ModelDirError(`${path}: format ${String(m.format)} v${String(m.formatVersion)}, expected yi-vl-onnx v1`);
  }
  for (const g of ['vision', 'embedTokens', 'decoder'] as const) {
    const file = m.graphs?.[g]?.file;
    if (!file || !existsSync(join(dir, file))) throw new ModelDirError(`${dir}: graph ${g} (${String(file)}) missing`);
  }
  const loop = m.graphs.decoderLoop?.file;
  if (loop && !existsSync(join(dir, loop))) throw new ModelDirError(`${dir}: graph decoderLoop (${loop}) missing`);
  if ((m.graphs.decoder.attention ?? 'gqa') !== 'gqa') {
    throw new ModelDirError(
      `${path}: the pipeline needs the GroupQueryAttention decoder (converted with attention 'plain')`,
    );
  }
  if (m.tokens.imageTokenIndex !== -200) throw new ModelDirError(`${path}: unexpected image token index`);
  return m;
}

/** generation_config.json beside the graphs, or the copy in the manifest. */
export function readGenerationConfig(dir: string, m: ModelManifest): GenerationConfigJson {
  const p = join(dir, 'generation_config.json');
  if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as GenerationConfigJson;
  return m.source?.generationConfig ?? {};
}
