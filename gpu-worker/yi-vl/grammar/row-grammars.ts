// The grammars of one loaded model's constrained rows: the compiled-grammar cache is made on the first request with
// a response_format (about 0.3 s for the 64,000-piece vocabulary), so a worker that only ever answers free text
// never pays for it; each constrained row then gets its own matcher over the cached grammar.
import { analyzeJsonSchema } from '../../../shared/structured/json-schema-subset.ts';
import { type ResponseFormat, schemaErrorPath } from '../../../shared/structured/response-format.ts';
import { InputInvalidError } from '../../analyzer-errors.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { GrammarCache } from './compiled-grammars.ts';
import { GrammarLogitsMask } from './logits-mask.ts';

/** A response_format the worker cannot serve (the edge checks the same subset, so only a stale or forged job). */
export class ResponseFormatError extends InputInvalidError {
  override name = 'ResponseFormatError';
}

export class RowGrammars {
  private cache: Promise<GrammarCache> | null = null;

  constructor(
    private readonly tokenizer: SentencePieceTokenizer,
    /** the model's EOS ids (generation_config.json), which end a constrained answer as "###" does */
    private readonly eosTokenIds: readonly number[],
  ) {}

  /** whether the grammar cache was made (a constrained request came) */
  get started(): boolean {
    return this.cache !== null;
  }

  /**
   * The mask of a row with this format; undefined for free text. Throws ResponseFormatError for a schema outside
   * the supported subset. The caller disposes the mask when the row settles.
   */
  async maskFor(format: ResponseFormat | undefined): Promise<GrammarLogitsMask | undefined> {
    if (!format || format.type === 'text') return undefined;
    if (format.type === 'json_schema') {
      const analysis = analyzeJsonSchema(format.json_schema.schema);
      if (!analysis.ok) {
        const p = analysis.problems[0]!;
        throw new ResponseFormatError(`${schemaErrorPath(p.pointer)}: ${p.message}`);
      }
    }
    return GrammarLogitsMask.create(await (await this.grammarCache()).get(format));
  }

  private grammarCache(): Promise<GrammarCache> {
    if (!this.cache) {
      const made = GrammarCache.create(this.tokenizer, { eosTokenIds: this.eosTokenIds });
      this.cache = made;
      made.catch(() => {
        if (this.cache === made) this.cache = null;
      });
    }
    return this.cache;
  }
}
