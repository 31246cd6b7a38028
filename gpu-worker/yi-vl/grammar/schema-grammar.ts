// Turns a checked JSON Schema (shared/structured) into an EBNF grammar for XGrammar. The layout is fixed — one line,
// ", " between items and ": " after keys, properties in schema order — so a document's length depends only on its
// values, and every generated text parses with JSON.parse and validates against the schema:
// - strings never contain raw control characters, lone surrogates or \u escapes; each grammar character is one
//   code point, so minLength/maxLength hold as JSON Schema counts them;
// - numbers are written without exponent and within ±1e15, so they parse to the finite value the grammar checked;
// - patterns are matched whole; their characters are emitted raw, or escaped where JSON needs it.
import {
  type CompiledSchema,
  MAX_NUMBER_MAGNITUDE,
  NUMBER_FRACTION_DIGITS,
  nodeSatisfiable,
  type SchemaNode,
} from '../../../shared/structured/json-schema-subset.ts';
import {
  type CharRanges,
  type CharSet,
  type RegexNode,
  subtractRanges,
} from '../../../shared/structured/regex-subset.ts';
import { decimalRangeGrammar } from './number-grammar.ts';

const OPEN_DECIMAL = BigInt(MAX_NUMBER_MAGNITUDE) * 10n ** BigInt(NUMBER_FRACTION_DIGITS) - 1n;

/** Shared rules: the free-form JSON value that `{}` (any) and `json_object` generate. */
const BASE_RULES = [
  String.raw`str_char ::= [^"\\\x00-\x1f] | "\\" ["\\/bfnrt]`,
  String.raw`any_string ::= "\"" str_char* "\""`,
  `any_number ::= ${decimalRangeGrammar(-OPEN_DECIMAL, OPEN_DECIMAL, NUMBER_FRACTION_DIGITS)}`,
  `any_object ::= "{" "}" | "{" any_string ": " any_value (", " any_string ": " any_value)* "}"`,
  `any_array ::= "[" "]" | "[" any_value (", " any_value)* "]"`,
  'any_value ::= any_object | any_array | any_string | any_number | "true" | "false" | "null"',
];

function hex(cp: number): string {
  return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
}

/** An EBNF string literal for exact text (every character outside printable ASCII escaped by code point). */
export function ebnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += hex(cp);
  }
  return `${out}"`;
}

/** How JSON writes a character that cannot appear raw inside a string. */
function jsonEscape(cp: number): string {
  const short: Record<number, string> = {
    34: '\\"',
    92: '\\\\',
    8: '\\b',
    9: '\\t',
    10: '\\n',
    12: '\\f',
    13: '\\r',
  };
  return short[cp] ?? `\\u${cp.toString(16).padStart(4, '0')}`;
}

const NEEDS_ESCAPE: CharRanges = [
  [0x00, 0x1f],
  [0x22, 0x22],
  [0x5c, 0x5c],
];

/**
 * A character set inside a JSON string: ASCII as a class (escaped forms for quote, backslash and controls), other
 * listed characters one by one, and "every non-ASCII character" as a class that excludes ASCII. (Classes are kept
 * ASCII-only: XGrammar 0.1.27 matches the non-ASCII members of a positive class wrongly.)
 */
function charSetGrammar(set: CharSet): string {
  const ascii = subtractRanges(set.ranges, [[0x80, 0x10ffff]]);
  const raw = subtractRanges(ascii, NEEDS_ESCAPE);
  const options: string[] = [];
  if (raw.length) options.push(`[${raw.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`);
  for (const [a, b] of ascii)
    for (let cp = a; cp <= Math.min(b, 0x5c); cp++)
      if (cp <= 0x1f || cp === 0x22 || cp === 0x5c) options.push(ebnfLiteral(jsonEscape(cp)));
  for (const [a, b] of subtractRanges(set.ranges, [[0, 0x7f]]))
    for (let cp = a; cp <= b; cp++) options.push(ebnfLiteral(String.fromCodePoint(cp)));
  if (set.allNonAscii) options.push(String.raw`[^\x00-\x7f]`);
  return options.length === 1 ? options[0]! : `(${options.join(' | ')})`;
}

/** EBNF of a pattern's tree; null for a part that can generate nothing (a set with no generatable character). */
function regexGrammar(node: RegexNode): string | null {
  switch (node.t) {
    case 'chars':
      return node.ranges.length || node.allNonAscii ? charSetGrammar(node) : null;
    case 'seq': {
      const items = node.items.map(regexGrammar);
      if (items.includes(null)) return null;
      return items.length ? `(${items.join(' ')})` : '""';
    }
    case 'alt': {
      const options = node.options.map(regexGrammar).filter((o) => o !== null);
      return options.length ? `(${options.join(' | ')})` : null;
    }
    case 'repeat': {
      const body = regexGrammar(node.node);
      if (body === null || node.max === 0) return node.min === 0 ? '""' : null;
      const inner = `(${body})`;
      if (node.min === 0 && node.max === Number.POSITIVE_INFINITY) return `${inner}*`;
      if (node.min === 1 && node.max === Number.POSITIVE_INFINITY) return `${inner}+`;
      if (node.min === 0 && node.max === 1) return `${inner}?`;
      if (node.max === Number.POSITIVE_INFINITY) return `${inner}{${node.min},}`;
      return `${inner}{${node.min},${node.max}}`;
    }
  }
}

class GrammarWriter {
  private readonly rules: string[] = [...BASE_RULES];
  private readonly refRules = new Map<string, string>();
  private readonly pending: string[] = [];
  private counter = 0;

  constructor(
    private readonly schema: CompiledSchema,
    private readonly satisfiable: ReadonlySet<string>,
  ) {}

  write(leadingSpace: boolean): string {
    const body = this.expr(this.schema.root);
    while (this.pending.length) {
      const pointer = this.pending.pop()!;
      this.rules.push(`${this.refRules.get(pointer)} ::= ${this.expr(this.schema.refs.get(pointer)!)}`);
    }
    this.rules.push(`root ::= ${leadingSpace ? '" "? ' : ''}${body}`);
    return this.rules.join('\n');
  }

  private rule(expr: string): string {
    const name = `r${this.counter++}`;
    this.rules.push(`${name} ::= ${expr}`);
    return name;
  }

  private sat(node: SchemaNode): boolean {
    return nodeSatisfiable(node, this.satisfiable);
  }

  private expr(node: SchemaNode): string {
    switch (node.kind) {
      case 'any':
        return 'any_value';
      case 'any_object':
        return 'any_object';
      case 'null':
        return '"null"';
      case 'boolean':
        return '("true" | "false")';
      case 'literal':
        return `(${node.texts.map(ebnfLiteral).join(' | ')})`;
      case 'number':
        // The checker already bounded both ends (±10^15 where the schema gives no bound).
        return this.rule(decimalRangeGrammar(node.min, node.max, node.fractionDigits));
      case 'string': {
        const { minLength: a, maxLength: b } = node;
        const reps = b === null ? (a === 0 ? '*' : `{${a},}`) : b === 0 ? '' : `{${a},${b}}`;
        return reps === '' ? '"\\"\\""' : `("\\"" str_char${reps} "\\"")`;
      }
      case 'pattern':
        return this.rule(`"\\"" ${regexGrammar(node.regex) ?? '""'} "\\""`);
      case 'array': {
        const { minItems: min, maxItems: max } = node;
        if (max === 0 || !this.sat(node.items)) return '("[" "]")';
        const item = this.expr(node.items);
        const more =
          max === null
            ? min <= 1
              ? `(", " ${item})*`
              : `(", " ${item}){${min - 1},}`
            : max === 1
              ? ''
              : `(", " ${item}){${Math.max(0, min - 1)},${max - 1}}`;
        const filled = `"[" ${item} ${more} "]"`;
        return this.rule(min === 0 ? `"[" "]" | ${filled}` : filled);
      }
      case 'object':
        return this.object(node);
      case 'any_of': {
        const options = node.options.filter((o) => this.sat(o)).map((o) => this.expr(o));
        return `(${options.join(' | ')})`;
      }
      case 'ref': {
        let name = this.refRules.get(node.pointer);
        if (!name) {
          name = `ref${this.refRules.size}`;
          this.refRules.set(node.pointer, name);
          this.pending.push(node.pointer);
        }
        return name;
      }
    }
  }

  /** Properties in schema order; optional ones may be left out, commas only between those present. */
  private object(node: Extract<SchemaNode, { kind: 'object' }>): string {
    const props = node.properties.filter((p) => p.required || this.sat(p.node));
    if (props.length === 0) return '("{" "}")';
    const member = props.map((p) => `${ebnfLiteral(JSON.stringify(p.name))} ": " ${this.expr(p.node)}`);
    // tail[i]: properties i… that follow at least one earlier property (each with its leading ", ").
    const tail: string[] = new Array(props.length + 1);
    tail[props.length] = '""';
    for (let i = props.length - 1; i >= 0; i--) {
      const withThis = `", " ${member[i]} ${tail[i + 1]}`;
      tail[i] = this.rule(props[i]!.required ? withThis : `${withThis} | ${tail[i + 1]}`);
    }
    // The first property present: any optional one before the first required, or that required one.
    const firsts: string[] = [];
    let allOptional = true;
    for (let i = 0; i < props.length; i++) {
      firsts.push(`${member[i]} ${tail[i + 1]}`);
      if (props[i]!.required) {
        allOptional = false;
        break;
      }
    }
    const body = firsts.join(' | ');
    return this.rule(allOptional ? `"{" "}" | "{" (${body}) "}"` : `"{" (${body}) "}"`);
  }
}

export interface GrammarOptions {
  /** allow one space before the document (Yi-VL's answers start with one after "### Assistant:") */
  leadingSpace?: boolean;
}

/** The EBNF grammar of every document the schema allows, in the fixed layout. */
export function schemaGrammar(schema: CompiledSchema, satisfiable: ReadonlySet<string>, options: GrammarOptions = {}) {
  return new GrammarWriter(schema, satisfiable).write(options.leadingSpace ?? true);
}

/** The grammar of any JSON object (response_format json_object). */
export function anyObjectGrammar(options: GrammarOptions = {}): string {
  return [...BASE_RULES, `root ::= ${(options.leadingSpace ?? true) ? '" "? ' : ''}any_object`].join('\n');
}
