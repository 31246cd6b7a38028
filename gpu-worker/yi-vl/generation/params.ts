// Generation parameters: request values over generation_config.json over HF defaults (spec §10).

export interface GenerationParams {
  maxNewTokens: number;
  /** 0 ⇒ greedy. */
  temperature: number;
  /** 0 ⇒ off. */
  topK: number;
  /** 1 ⇒ off. */
  topP: number;
  /** 1 ⇒ off. */
  repetitionPenalty: number;
  /** Sampling seed; chosen at random (and reported) when absent. */
  seed?: number;
}

export interface GenerationConfigJson {
  eos_token_id?: number | number[];
  bos_token_id?: number;
  pad_token_id?: number;
  do_sample?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_length?: number;
  max_new_tokens?: number;
  repetition_penalty?: number;
}

export const DEFAULT_MAX_NEW_TOKENS = 1024;

export function resolveParams(
  request: Partial<GenerationParams>,
  config: GenerationConfigJson = {},
): Required<Omit<GenerationParams, 'seed'>> & { seed?: number } {
  const sample = config.do_sample ?? false;
  const p = {
    maxNewTokens: request.maxNewTokens ?? config.max_new_tokens ?? DEFAULT_MAX_NEW_TOKENS,
    temperature: request.temperature ?? (sample ? (config.temperature ?? 1) : 0),
    topK: request.topK ?? config.top_k ?? 50,
    topP: request.topP ?? config.top_p ?? 1,
    repetitionPenalty: request.repetitionPenalty ?? config.repetition_penalty ?? 1,
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
  };
  if (!Number.isInteger(p.maxNewTokens) || p.maxNewTokens < 1) throw new RangeError('maxNewTokens must be ≥ 1');
  if (!(p.temperature >= 0)) throw new RangeError('temperature must be ≥ 0');
  if (!Number.isInteger(p.topK) || p.topK < 0) throw new RangeError('topK must be an integer ≥ 0');
  if (!(p.topP > 0 && p.topP <= 1)) throw new RangeError('topP must be in (0, 1]');
  if (!(p.repetitionPenalty > 0)) throw new RangeError('repetitionPenalty must be > 0');
  return p;
}

export function eosIdsOf(config: GenerationConfigJson, fallback: number): number[] {
  const e = config.eos_token_id;
  if (e === undefined) return [fallback];
  return Array.isArray(e) ? e : [e];
}
