// Compiled grammars for structured answers, cached by the SHA-256 of the format's canonical JSON (object keys
// sorted), so the same schema sent by many jobs is compiled once per worker. Least recently used entries go first.
import { createHash } from 'node:crypto';
import { compileJsonSchema, satisfiableRefs } from '../../../shared/structured/json-schema-subset.ts';
import type { ResponseFormat } from '../../../shared/structured/response-format.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { anyObjectGrammar, schemaGrammar } from './schema-grammar.ts';
import { type GrammarVocabulary, grammarVocabulary } from './tokenizer-info.ts';
import { type CompiledGrammar, type GrammarCompiler, initXGrammar } from './xgrammar.ts';

export type StructuredFormat = Exclude<ResponseFormat, { type: 'text' }>;

export interface StructuredGrammar {
  /** sha256 of the format's canonical JSON */
  key: string;
  ebnf: string;
  compiled: CompiledGrammar;
  vocabulary: GrammarVocabulary;
}

export const DEFAULT_GRAMMAR_CACHE_SIZE = 64;

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The part of a format that decides the grammar (the schema's name and description do not). */
function grammarSource(format: StructuredFormat): unknown {
  return format.type === 'json_object'
    ? { type: 'json_object' }
    : { type: 'json_schema', schema: format.json_schema.schema };
}

export function formatKey(format: StructuredFormat): string {
  return createHash('sha256')
    .update(canonicalJson(grammarSource(format)))
    .digest('hex');
}

/** The EBNF of a format (throws on a schema outside the supported subset). */
export function formatGrammar(format: StructuredFormat): string {
  if (format.type === 'json_object') return anyObjectGrammar();
  const schema = compileJsonSchema(format.json_schema.schema);
  return schemaGrammar(schema, satisfiableRefs(schema));
}

export class GrammarCache {
  private readonly entries = new Map<string, Promise<StructuredGrammar>>();
  hits = 0;
  misses = 0;

  private constructor(
    private readonly compiler: GrammarCompiler,
    private readonly vocabulary: GrammarVocabulary,
    readonly capacity: number,
  ) {}

  /**
   * `eosTokenIds`: the model's EOS ids (generation_config.json), which end a constrained answer like "###" does;
   * the tokenizer's EOS when left out.
   */
  static async create(
    tokenizer: SentencePieceTokenizer,
    options: { eosTokenIds?: readonly number[]; capacity?: number } = {},
  ): Promise<GrammarCache> {
    const xg = await initXGrammar();
    const vocabulary = await grammarVocabulary(tokenizer, options.eosTokenIds);
    // XGrammar's own cache has no size limit; this class bounds it instead.
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(vocabulary.info, false);
    return new GrammarCache(compiler, vocabulary, options.capacity ?? DEFAULT_GRAMMAR_CACHE_SIZE);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The compiled grammar of a format, from the cache when the same schema was compiled before. */
  get(format: StructuredFormat): Promise<StructuredGrammar> {
    const key = formatKey(format);
    const cached = this.entries.get(key);
    if (cached) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    this.misses++;
    const entry = (async () => {
      const ebnf = formatGrammar(format);
      const compiled = await this.compiler.compileGrammar(ebnf);
      return { key, ebnf, compiled, vocabulary: this.vocabulary };
    })();
    this.entries.set(key, entry);
    entry.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const [oldest, evicted] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      // Matchers already made from it keep their own reference to the grammar.
      evicted.then((g) => g.compiled.dispose()).catch(() => {});
    }
    return entry;
  }
}
