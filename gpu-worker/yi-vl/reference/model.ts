import type { YiVlConfig } from '../checkpoint/config.ts';

/** What the reference needs from a checkpoint: configs and two name → float32 tensor sources. */
export interface TensorSource {
  read(name: string): Float32Array;
  info(name: string): { shape: number[] };
}

export interface ReferenceModel {
  config: YiVlConfig;
  /** HF CLIPVisionModel names (vision_model.…) */
  vit: TensorSource;
  /** LLM + projector names (model.…, lm_head.weight) */
  main: TensorSource;
}
