// Loads the Yi tokenizer and proves at start-up that it is the right, intact file: a corrupt, truncated or
// foreign tokenizer.model throws TokenizerFileError instead of silently encoding to nothing.
import { fileURLToPath } from 'node:url';
import { TokenizerFileError } from './sentencepiece-model.ts';
import { SentencePieceTokenizer } from './tokenizer.ts';

export const YI_TOKENIZER_SHA256 = '386c49cf943d71aa110361135338c50e38beeff0a66593480421f37b319e1a39';
export const YI_VOCAB_SIZE = 64000;
export const BUNDLED_TOKENIZER_PATH = fileURLToPath(new URL('./data/tokenizer.model', import.meta.url));

// Known encodings (SentencePiece 0.1.97 on the Yi model) covering merges, user-defined pieces, digits,
// whitespace runs, Chinese and byte fallback.
const SELF_CHECK: readonly (readonly [string, readonly number[]])[] = [
  [' Hello world', [29915, 1504]],
  ['### Human: ', [8308, 10427, 59601, 59568]],
  ['\nWhat is in the image?\n### Assistant:', [144, 5697, 620, 594, 567, 2728, 100, 144, 8308, 20921, 59601]],
  ['你好，世界！图片里有什么？', [25902, 101, 2349, 103, 10698, 59772, 9300, 104]],
  ['a  b\t\tc\n\nd    e', [59572, 141, 59588, 125, 59581, 144, 144, 59579, 139, 59569]],
  ['In 2024, 3.14', [2034, 59568, 79, 77, 79, 81, 97, 59568, 80, 98, 78, 81]],
  ['龘', [538, 495, 457]],
  ['<|im_start|>user\n', [6, 3903, 144]],
];

export interface VerifiedTokenizer {
  tokenizer: SentencePieceTokenizer;
  /** true when the file is byte-identical to the known Yi tokenizer.model */
  knownFile: boolean;
}

export function verifyYiTokenizer(tok: SentencePieceTokenizer, source: string): void {
  if (tok.vocabSize !== YI_VOCAB_SIZE) {
    throw new TokenizerFileError(`${source}: ${tok.vocabSize} pieces, the Yi vocabulary has ${YI_VOCAB_SIZE}`);
  }
  for (const [text, expected] of SELF_CHECK) {
    const got = tok.encode(text);
    if (got.length !== expected.length || got.some((id, i) => id !== expected[i])) {
      throw new TokenizerFileError(
        `${source}: self-check failed: ${JSON.stringify(text)} encoded to [${got.join(', ')}], expected [${expected.join(', ')}] — not the Yi tokenizer, or a damaged file`,
      );
    }
    if (tok.decode(got) !== text) throw new TokenizerFileError(`${source}: self-check failed: decode(encode(x)) ≠ x`);
  }
}

/** Loads and verifies a Yi tokenizer.model (the bundled copy by default). */
export function loadYiTokenizer(path: string = BUNDLED_TOKENIZER_PATH): VerifiedTokenizer {
  const tokenizer = SentencePieceTokenizer.fromFile(path);
  verifyYiTokenizer(tokenizer, path);
  return { tokenizer, knownFile: tokenizer.sha256 === YI_TOKENIZER_SHA256 };
}
