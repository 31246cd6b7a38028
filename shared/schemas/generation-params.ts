import { z } from 'zod';
import { ResponseFormatSchema } from '../structured/response-format.ts';

/**
 * Sampling settings a client may set per job, and the defaults of every entry point (API, worker, CLI, benchmarks):
 * the effective settings of Yi-VL's own `cli.py`: temperature 0.2,
 * top-p 0.8, top-k 50, 512 new tokens, no repetition penalty. temperature 0 means greedy decoding.
 */
export const GENERATION_DEFAULTS = {
  max_new_tokens: 512,
  temperature: 0.2,
  top_p: 0.8,
  top_k: 50,
  repetition_penalty: 1,
} as const;

export const MAX_NEW_TOKENS_LIMIT = 2048;

export const GenerationParamsSchema = z
  .object({
    max_new_tokens: z.number().int().min(1).max(MAX_NEW_TOKENS_LIMIT).default(GENERATION_DEFAULTS.max_new_tokens),
    temperature: z.number().min(0).max(2).default(GENERATION_DEFAULTS.temperature),
    top_p: z.number().gt(0).max(1).default(GENERATION_DEFAULTS.top_p),
    top_k: z.number().int().min(0).max(1000).default(GENERATION_DEFAULTS.top_k),
    repetition_penalty: z.number().min(0.5).max(2).default(GENERATION_DEFAULTS.repetition_penalty),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    response_format: ResponseFormatSchema.optional().describe(
      'constrain the answer to JSON (any object, or a JSON Schema); absent means free text',
    ),
  })
  .meta({ id: 'GenerationParams', description: 'Sampling settings; temperature 0 selects greedy decoding.' });

export type GenerationParams = z.infer<typeof GenerationParamsSchema>;
