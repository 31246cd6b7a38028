// Turns a rendered prompt into input ids the way Yi-VL's tokenizer_image_token does (spec §7): split at the
// placeholder, encode each chunk on its own (no merges across the split), join with the image index −200.
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { IMAGE_PLACEHOLDER } from './mm-default.ts';

export const IMAGE_TOKEN_INDEX = -200;

export interface PromptIdsOptions {
  /** Prepend BOS. Yi-VL's tokenizer config adds none (spec §9); kept as an option for other configs. */
  addBos?: boolean;
}

export function tokenizeWithImage(
  tokenizer: SentencePieceTokenizer,
  prompt: string,
  options: PromptIdsOptions = {},
): number[] {
  const ids: number[] = options.addBos ? [tokenizer.bosId] : [];
  prompt.split(IMAGE_PLACEHOLDER).forEach((chunk, i) => {
    if (i > 0) ids.push(IMAGE_TOKEN_INDEX);
    ids.push(...tokenizer.encode(chunk));
  });
  return ids;
}

/** Number of image placeholders (−200) in an id sequence. */
export function countImageTokens(ids: readonly number[]): number {
  return ids.reduce((n, id) => n + (id === IMAGE_TOKEN_INDEX ? 1 : 0), 0);
}
