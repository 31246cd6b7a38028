// A grammar as a row's logits mask (generation/sequence.ts `LogitsMask`): before each choice the row awaits
// `prepare()` (the next token's bitmask), the sequence applies it after the repetition penalty and before the
// sampling warpers, and tells it the chosen token; a stop token (EOS or "###") accepted where the document is
// complete ends the answer with `stop`.
import type { LogitsMask } from '../generation/sequence.ts';
import type { StructuredGrammar } from './compiled-grammars.ts';
import { GrammarConstraint } from './matcher.ts';

export class GrammarLogitsMask implements LogitsMask {
  private constructor(readonly constraint: GrammarConstraint) {}

  static async create(grammar: StructuredGrammar): Promise<GrammarLogitsMask> {
    return new GrammarLogitsMask(await GrammarConstraint.create(grammar));
  }

  /** Computes the next token's bitmask (it depends only on the tokens accepted so far). */
  async prepare(): Promise<void> {
    await this.constraint.fillMask();
  }

  apply(_generated: readonly number[], logits: Float32Array): void {
    this.constraint.applyMask(logits);
  }

  accept(id: number): boolean {
    return this.constraint.accept(id);
  }

  dispose(): void {
    this.constraint.dispose();
  }
}
