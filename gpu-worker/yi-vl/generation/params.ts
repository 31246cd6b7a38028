// Generation parameters: request values over the product's defaults (shared/schemas/generation-params.ts), the one
// source every entry point uses — the API, the worker, the CLI and the benchmarks. generation_config.json supplies
// only the EOS ids: its sampling values (temperature 0.6, 1,024 tokens) are not what the API promises its callers.
import { GENERATION_DEFAULTS } from '../../../shared/schemas/generation-params.ts';

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

export function resolveParams(
  request: Partial<GenerationParams>,
): Required<Omit<GenerationParams, 'seed'>> & { seed?: number } {
  const d = GENERATION_DEFAULTS;
  const p = {
    maxNewTokens: request.maxNewTokens ?? d.max_new_tokens,
    temperature: request.temperature ?? d.temperature,
    topK: request.topK ?? d.top_k,
    topP: request.topP ?? d.top_p,
    repetitionPenalty: request.repetitionPenalty ?? d.repetition_penalty,
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
