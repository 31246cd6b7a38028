// One constrained answer's grammar state: which tokens may come next, and what the answer has consumed so far.
// Per decode step of a constrained row: `await fillMask()` → `applyMask(logits)` (after the repetition penalty,
// before temperature / top-k / top-p and sampling, so the warpers only ever see allowed tokens) → sample →
// `accept(token)`. The stop tokens (EOS and "###") are allowed only where the document is complete; accepting one
// terminates the row (`isTerminated()`), and the stop token is not part of the answer text.
import type { StructuredGrammar } from './compiled-grammars.ts';
import { type GrammarMatcher, xgrammar } from './xgrammar.ts';

/** Words of a token bitmask: bit (id & 31) of word (id >> 5) is set when the token is allowed. */
export function bitmaskWords(vocabSize: number): number {
  return Math.ceil(vocabSize / 32);
}

export function isAllowed(bitmask: Int32Array, id: number, offset = 0): boolean {
  return ((bitmask[offset + (id >> 5)]! >>> (id & 31)) & 1) === 1;
}

/** Sets every disallowed token's logit to −Infinity (ids past the mask's vocabulary too). */
export function applyBitmask(logits: Float32Array, bitmask: Int32Array, vocabSize: number, offset = 0): void {
  const words = bitmaskWords(vocabSize);
  for (let w = 0; w < words; w++) {
    const bits = bitmask[offset + w]!;
    if (bits === -1) continue;
    const base = w << 5;
    const end = Math.min(32, logits.length - base);
    for (let b = 0; b < end; b++) if (((bits >>> b) & 1) === 0) logits[base + b] = Number.NEGATIVE_INFINITY;
  }
  for (let id = vocabSize; id < logits.length; id++) logits[id] = Number.NEGATIVE_INFINITY;
}

export class GrammarRejectedTokenError extends Error {
  constructor(readonly token: number) {
    super(`token ${token} is not allowed by the grammar here`);
    this.name = 'GrammarRejectedTokenError';
  }
}

export class GrammarConstraint {
  private mask: Int32Array | null = null;
  private terminated = false;
  private disposed = false;
  private consumed = 0;

  private constructor(
    private readonly matcher: GrammarMatcher,
    readonly grammar: StructuredGrammar,
  ) {}

  /** A fresh matcher at the start of the document. */
  static async create(grammar: StructuredGrammar): Promise<GrammarConstraint> {
    const xg = xgrammar();
    const matcher = await xg.GrammarMatcher.createGrammarMatcher(grammar.compiled, grammar.vocabulary.stopTokenIds);
    return new GrammarConstraint(matcher, grammar);
  }

  get vocabSize(): number {
    return this.grammar.vocabulary.vocabSize;
  }

  /** Tokens accepted so far (the stop token included). */
  get acceptedTokens(): number {
    return this.consumed;
  }

  /**
   * Computes the next token's mask (cached until the next accept/reset). With `into`, also copies it there at
   * `offset` (a row of a batch bitmask of bitmaskWords(vocabSize) words per row). Returns the mask.
   */
  async fillMask(into?: Int32Array, offset = 0): Promise<Int32Array> {
    this.assertLive();
    if (this.terminated) throw new Error('the grammar has terminated; no further token is allowed');
    this.mask ??= await this.matcher.getNextTokenBitmask();
    if (into) into.set(this.mask, offset);
    return this.mask;
  }

  /** −Infinity on every token the grammar forbids next; call fillMask first. */
  applyMask(logits: Float32Array): void {
    if (!this.mask) throw new Error('fillMask() must run before applyMask()');
    applyBitmask(logits, this.mask, this.vocabSize);
  }

  /** Whether `id` is allowed next (fillMask first). */
  allows(id: number): boolean {
    if (!this.mask) throw new Error('fillMask() must run before allows()');
    return id >= 0 && id < this.vocabSize && isAllowed(this.mask, id);
  }

  isStopToken(id: number): boolean {
    return this.grammar.vocabulary.stopTokenIds.includes(id);
  }

  /**
   * Advances by one sampled token. Throws GrammarRejectedTokenError for a token the mask forbade (a bug in the
   * caller: masked sampling never picks one). Returns true when the token was a stop token (the row is done).
   */
  accept(id: number): boolean {
    this.assertLive();
    if (this.terminated || !this.matcher.acceptToken(id)) throw new GrammarRejectedTokenError(id);
    this.consumed++;
    this.mask = null;
    this.terminated = this.matcher.isTerminated();
    return this.terminated;
  }

  /** The document so far is complete: a stop token is allowed next (or one was accepted). */
  async isComplete(): Promise<boolean> {
    if (this.terminated) return true;
    const mask = await this.fillMask();
    return this.grammar.vocabulary.stopTokenIds.some((id) => isAllowed(mask, id));
  }

  isTerminated(): boolean {
    return this.terminated;
  }

  /** Back to the start of the document (the same grammar). */
  reset(): void {
    this.assertLive();
    this.matcher.reset();
    this.mask = null;
    this.terminated = false;
    this.consumed = 0;
  }

  /** Frees the WebAssembly matcher; the constraint cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.matcher.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('the grammar constraint was disposed');
  }
}
