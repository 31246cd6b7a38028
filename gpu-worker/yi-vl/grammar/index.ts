export {
  canonicalJson,
  DEFAULT_GRAMMAR_CACHE_SIZE,
  formatGrammar,
  formatKey,
  GrammarCache,
  type StructuredFormat,
  type StructuredGrammar,
} from './compiled-grammars.ts';
export { GrammarLogitsMask } from './logits-mask.ts';
export {
  applyBitmask,
  bitmaskWords,
  GrammarConstraint,
  GrammarRejectedTokenError,
  isAllowed,
} from './matcher.ts';
export { ResponseFormatError, RowGrammars } from './row-grammars.ts';
export { anyObjectGrammar, schemaGrammar } from './schema-grammar.ts';
export { type GrammarVocabulary, grammarPieces, grammarStopTokens, grammarVocabulary } from './tokenizer-info.ts';
export { initXGrammar, xgrammar } from './xgrammar.ts';
