// XGrammar's view of the Yi vocabulary: 64,000 SentencePiece pieces with byte fallback. Pieces go in as they are
// stored ("▁" for a space, "<0xNN>" for a raw byte) under the "byte_fallback" vocab type, which decodes both the way
// SentencePiece does. Pieces that decode to no text (control pieces such as <|startoftext|>, and <unk>) are given
// as "", which XGrammar treats as special: never allowed by a grammar. The stop tokens (EOS, and the "###" piece
// that ends a Yi-VL turn) are allowed only where the grammar is complete.

import { STOP_STRING } from '../generation/stopping-criteria.ts';
import { PieceType } from '../tokenizer/sentencepiece-model.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { initXGrammar, type TokenizerInfo } from './xgrammar.ts';

export interface GrammarVocabulary {
  info: TokenizerInfo;
  vocabSize: number;
  /** tokens that end a constrained answer once the document is complete (EOS ids and "###") */
  stopTokenIds: number[];
}

/** The pieces in the form XGrammar's byte_fallback decoder expects ("" for pieces that decode to nothing). */
export function grammarPieces(tokenizer: SentencePieceTokenizer): string[] {
  const { pieces, types, vocabSize } = tokenizer.model;
  const out = new Array<string>(vocabSize);
  for (let id = 0; id < vocabSize; id++) {
    const t = types[id];
    out[id] = t === PieceType.CONTROL || t === PieceType.UNKNOWN || t === PieceType.UNUSED ? '' : pieces[id]!;
  }
  return out;
}

/**
 * The model's EOS ids (generation_config.json: 7 for Yi-VL-6B, 2 for 34B; the tokenizer's EOS when not given), plus
 * the single piece that spells Yi-VL's stop string when the vocabulary has one.
 */
export function grammarStopTokens(tokenizer: SentencePieceTokenizer, eosTokenIds?: readonly number[]): number[] {
  const ids = new Set(eosTokenIds?.length ? eosTokenIds : [tokenizer.eosId]);
  const stop = tokenizer.pieceToId(STOP_STRING);
  if (stop !== tokenizer.model.unkId) ids.add(stop);
  return [...ids];
}

const cache = new WeakMap<SentencePieceTokenizer, Map<string, Promise<GrammarVocabulary>>>();

/** Built once per tokenizer and set of EOS ids (about 0.3 s for 64,000 pieces). */
export function grammarVocabulary(
  tokenizer: SentencePieceTokenizer,
  eosTokenIds?: readonly number[],
): Promise<GrammarVocabulary> {
  const stopTokenIds = grammarStopTokens(tokenizer, eosTokenIds);
  let perTokenizer = cache.get(tokenizer);
  if (!perTokenizer) {
    perTokenizer = new Map();
    cache.set(tokenizer, perTokenizer);
  }
  const key = stopTokenIds.join(',');
  let entry = perTokenizer.get(key);
  if (!entry) {
    entry = (async () => {
      const xg = await initXGrammar();
      const info = await xg.TokenizerInfo.createTokenizerInfo(
        grammarPieces(tokenizer),
        'byte_fallback',
        tokenizer.model.normalizer.addDummyPrefix,
        tokenizer.vocabSize,
        stopTokenIds,
      );
      return { info, vocabSize: tokenizer.vocabSize, stopTokenIds };
    })();
    perTokenizer.set(key, entry);
  }
  return entry;
}
