// When generation ends and why. Checked after every new token (and cancellation before every step).
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';

export type FinishReason = 'stop' | 'length' | 'canceled';

export const STOP_STRING = '###';

export interface StopState {
  /** Generated ids so far (including the one just chosen). */
  generated: readonly number[];
  /** Decoded text of the generated ids (EOS excluded). */
  text: string;
  /** Positions used in the decoder so far: spliced prompt length + generated tokens fed back. */
  contextUsed: number;
}

export interface StoppingCriterion {
  check(state: StopState): FinishReason | null;
}

export class EosCriterion implements StoppingCriterion {
  readonly ids: ReadonlySet<number>;
  constructor(ids: Iterable<number>) {
    this.ids = new Set(ids);
  }
  check(s: StopState): FinishReason | null {
    const last = s.generated.at(-1);
    return last !== undefined && this.ids.has(last) ? 'stop' : null;
  }
}

/** Yi-VL's KeywordsStoppingCriteria: stop as soon as the decoded output contains the stop string anywhere. */
export class StopStringCriterion implements StoppingCriterion {
  constructor(readonly stop = STOP_STRING) {}
  check(s: StopState): FinishReason | null {
    return s.text.includes(this.stop) ? 'stop' : null;
  }
}

export class MaxNewTokensCriterion implements StoppingCriterion {
  constructor(readonly maxNewTokens: number) {
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
      throw new RangeError(`max_new_tokens must be a positive integer, got ${maxNewTokens}`);
    }
  }
  check(s: StopState): FinishReason | null {
    return s.generated.length >= this.maxNewTokens ? 'length' : null;
  }
}

/** The next token would need a position the model (or the KV buffer) does not have. */
export class ContextLimitCriterion implements StoppingCriterion {
  constructor(readonly maxPositions: number) {}
  check(s: StopState): FinishReason | null {
    return s.contextUsed + 1 > this.maxPositions ? 'length' : null;
  }
}

export class StoppingCriteria {
  constructor(
    readonly list: readonly StoppingCriterion[],
    readonly signal?: AbortSignal,
  ) {}
  get canceled(): boolean {
    return this.signal?.aborted === true;
  }
  check(state: StopState): FinishReason | null {
    for (const c of this.list) {
      const r = c.check(state);
      if (r) return r;
    }
    return null;
  }
}

/** Final answer text: cut at the first stop string, then trim (spec §8.4). */
export function finalizeText(text: string, stop = STOP_STRING): string {
  const at = text.indexOf(stop);
  return (at >= 0 ? text.slice(0, at) : text).trim();
}

/**
 * The ids of the tokens that can complete `stop` in the decoded text: the text a completing token adds ends the
 * first occurrence, so its bytes hold the stop string's last byte. A decoder that makes several tokens before the
 * text is checked (the in-graph loop) pauses a sequence after one of these, so that no steps are made past a stop.
 */
export function stopStringTokenIds(tokenizer: SentencePieceTokenizer, stop = STOP_STRING): number[] {
  const bytes = new TextEncoder().encode(stop);
  const last = bytes[bytes.length - 1];
  const ids: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) if (tokenizer.tokenBytes(id).includes(last!)) ids.push(id);
  return ids;
}
