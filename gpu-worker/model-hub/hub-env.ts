/** Variables of the model pull and `MODEL=` (the CLI and the local stack read them once, through parseEnv). */
import { z } from 'zod';
import { envVar } from '../../shared/config/env.ts';

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export const hubEnvShape = {
  HF_TOKEN: z
    .string()
    .regex(/^hf_\S+$/, 'must be a Hugging Face access token (hf_…)')
    .optional()
    .describe('Hugging Face access token, for gated or private repositories'),
  HF_ENDPOINT: envVar
    .url('Hugging Face Hub endpoint, e.g. a mirror')
    .default(DEFAULT_HUB_URL)
    .transform((u) => u.replace(/\/+$/, '')),
};

export const modelSourceEnvShape = {
  MODEL: envVar.string('Hub repository (owner/name) or local folder of the model to prepare and use').optional(),
  MODEL_REVISION: envVar.string('branch, tag or commit of MODEL on the Hub (default main)').optional(),
  MODEL_DTYPE: z
    .enum(['fp32', 'fp16', 'int4'])
    .optional()
    .describe('weights of the converted MODEL (default int4 on the CPU, fp16 on CUDA)'),
  LOCAL_DATA_DIR: z.string().default('.local').describe('prepared models go to <LOCAL_DATA_DIR>/models'),
};

export const modelSourceEnvSchema = z.object({ ...hubEnvShape, ...modelSourceEnvShape });
export type ModelSourceEnv = z.infer<typeof modelSourceEnvSchema>;
