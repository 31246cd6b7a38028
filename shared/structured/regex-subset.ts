// The regular-expression subset accepted in a JSON Schema `pattern`, parsed into a small tree that the worker turns
// into grammar rules and the edge uses to check satisfiability and the longest match. Pure TypeScript: it runs on
// every edge runtime. Patterns match the whole string (as if wrapped in ^…$), which only narrows what is generated:
// an anchored match is also a match of the unanchored pattern, so every generated string still matches.

/** Inclusive code-point ranges, sorted and disjoint. */
export type CharRanges = readonly (readonly [number, number])[];

/** A set of characters the grammar can emit: `ranges` (ASCII), and with `allNonAscii` every code point above
 * U+007F except surrogates. */
export interface CharSet {
  t: 'chars';
  ranges: CharRanges;
  allNonAscii: boolean;
}

export type RegexNode =
  | CharSet
  | { t: 'seq'; items: RegexNode[] }
  | { t: 'alt'; options: RegexNode[] }
  | { t: 'repeat'; node: RegexNode; min: number; max: number };

export class RegexSubsetError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'RegexSubsetError';
  }
}

/** Repetition counts above this are refused (they would expand into very large grammars). */
export const MAX_REGEX_REPEAT = 1000;

const MAX_CODE_POINT = 0x10ffff;
const SURROGATES: readonly [number, number] = [0xd800, 0xdfff];
const DIGIT: CharRanges = [[0x30, 0x39]];
const WORD: CharRanges = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
// JavaScript's \s (WhiteSpace and LineTerminator).
const SPACE: CharRanges = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

export function normalizeRanges(ranges: Iterable<readonly [number, number]>): [number, number][] {
  const sorted = [...ranges].map(([a, b]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export function subtractRanges(from: CharRanges, remove: CharRanges): [number, number][] {
  let current = normalizeRanges(from);
  for (const [ra, rb] of remove) {
    const next: [number, number][] = [];
    for (const [a, b] of current) {
      if (rb < a || ra > b) next.push([a, b]);
      else {
        if (a < ra) next.push([a, ra - 1]);
        if (rb < b) next.push([rb + 1, b]);
      }
    }
    current = next;
  }
  return current;
}

function complement(ranges: CharRanges): [number, number][] {
  return subtractRanges([[0, MAX_CODE_POINT]], ranges);
}

const NON_ASCII: CharRanges = [
  [0x80, 0xd7ff],
  [0xe000, MAX_CODE_POINT],
];

function countOf(ranges: CharRanges): number {
  return ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
}

/**
 * What the grammar generates of a set: its ASCII part, plus every other character when the set holds all of them
 * (`.` excepted, [^…] of ASCII characters, \D, \W). A set with only some non-ASCII characters (é, [à-ÿ], \s's
 * Unicode spaces, \S) generates only its ASCII part: the grammar engine cannot match a partial non-ASCII class
 * correctly, and a subset keeps every answer valid.
 */
function generatable(ranges: CharRanges): [number, number][] {
  const set = subtractRanges(ranges, [SURROGATES]);
  const rest = subtractRanges(set, [[0, 0x7f]]);
  return countOf(rest) === countOf(NON_ASCII) ? set : subtractRanges(set, NON_ASCII);
}

function toCharSet(ranges: [number, number][]): CharSet {
  const rest = subtractRanges(ranges, [[0, 0x7f]]);
  const all = countOf(rest) === countOf(NON_ASCII);
  return { t: 'chars', ranges: all ? subtractRanges(ranges, NON_ASCII) : normalizeRanges(ranges), allNonAscii: all };
}

/** A set as the grammar emits it (see generatable). */
function emitted(ranges: CharRanges): CharSet {
  return toCharSet(generatable(ranges));
}

const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/'.split(''));

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): RegexNode {
    const node = this.alternation(true);
    if (this.i < this.src.length) this.fail(`unexpected ${JSON.stringify(this.src[this.i])}`);
    return node;
  }

  private fail(message: string, at = this.i): never {
    throw new RegexSubsetError(message, at);
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alternation(top: boolean): RegexNode {
    const options = [this.sequence(top)];
    while (this.peek() === '|') {
      this.i++;
      options.push(this.sequence(top));
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private sequence(top: boolean): RegexNode {
    const items: RegexNode[] = [];
    if (this.peek() === '^') {
      if (!top) this.fail('^ is supported only at the start of the pattern');
      this.i++;
    }
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '$') {
        const next = this.src[this.i + 1];
        if (!top || (next !== undefined && next !== '|')) this.fail('$ is supported only at the end of the pattern');
        this.i++;
        break;
      }
      if (c === '^') this.fail('^ is supported only at the start of the pattern');
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? items[0]! : { t: 'seq', items };
  }

  private atom(): RegexNode {
    const start = this.i;
    const c = this.src[this.i++]!;
    switch (c) {
      case '.':
        return emitted(
          complement([
            [0x0a, 0x0a],
            [0x0d, 0x0d],
            [0x2028, 0x2029],
          ]),
        );
      case '[':
        return this.charClass(start);
      case '(': {
        if (this.src.startsWith('?:', this.i)) this.i += 2;
        else if (this.src.startsWith('?<', this.i) && !/^\?<[=!]/.test(this.src.slice(this.i))) {
          const close = this.src.indexOf('>', this.i);
          if (close < 0) this.fail('unterminated group name');
          this.i = close + 1;
        } else if (this.peek() === '?') this.fail('lookaround assertions are not supported', start);
        const inner = this.alternation(false);
        if (this.peek() !== ')') this.fail('missing )', start);
        this.i++;
        return inner;
      }
      case ')':
        return this.fail('unmatched )', start);
      case '*':
      case '+':
      case '?':
        return this.fail(`nothing to repeat before ${c}`, start);
      case '{':
        if (/^\d/.test(this.src.slice(this.i))) this.fail('nothing to repeat', start);
        return this.fail('a literal { must be escaped', start);
      case '}':
      case ']':
        return this.fail(`a literal ${c} must be escaped`, start);
      case '\\':
        return emitted(this.escape(false));
      default: {
        const cp = this.src.codePointAt(start)!;
        this.i = start + String.fromCodePoint(cp).length;
        return emitted([[cp, cp]]);
      }
    }
  }

  /** After a backslash; returns the exact set it stands for. */
  private escape(inClass: boolean): [number, number][] {
    const at = this.i - 1;
    const c = this.src[this.i++];
    if (c === undefined) return this.fail('pattern ends with \\', at);
    const single = (cp: number): [number, number][] => [[cp, cp]];
    switch (c) {
      case 'd':
        return normalizeRanges(DIGIT);
      case 'D':
        return complement(DIGIT);
      case 'w':
        return normalizeRanges(WORD);
      case 'W':
        return complement(WORD);
      case 's':
        return normalizeRanges(SPACE);
      case 'S':
        return complement(SPACE);
      case 't':
        return single(0x09);
      case 'n':
        return single(0x0a);
      case 'r':
        return single(0x0d);
      case 'f':
        return single(0x0c);
      case 'v':
        return single(0x0b);
      case '0':
        if (/^\d/.test(this.src.slice(this.i))) this.fail('octal escapes are not supported', at);
        return single(0);
      case 'x': {
        const hex = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i));
        if (!hex) return this.fail('\\x needs two hex digits', at);
        this.i += 2;
        return single(Number.parseInt(hex[0], 16));
      }
      case 'u': {
        const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.src.slice(this.i));
        if (braced) {
          const cp = Number.parseInt(braced[1]!, 16);
          if (cp > MAX_CODE_POINT) this.fail('code point out of range', at);
          this.i += braced[0].length;
          return single(cp);
        }
        const hex = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!hex) return this.fail('\\u needs four hex digits or {…}', at);
        this.i += 4;
        return single(Number.parseInt(hex[0], 16));
      }
      case '-':
        if (!inClass) this.fail('\\- is only valid inside a character class', at);
        return single(0x2d);
      default:
        if (SYNTAX_CHARS.has(c)) return single(c.codePointAt(0)!);
        return this.fail(`the escape \\${c} is not supported`, at);
    }
  }

  private charClass(start: number): RegexNode {
    const negated = this.peek() === '^';
    if (negated) this.i++;
    const members: [number, number][] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('missing ]', start);
      if (c === ']' && !first) break;
      if (c === ']') this.fail('empty character class', start);
      first = false;
      const lo = this.classAtom();
      if (this.peek() === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined) {
        const dash = this.i;
        this.i++;
        const hi = this.classAtom();
        if (lo.length !== 1 || hi.length !== 1 || lo[0]![0] !== lo[0]![1] || hi[0]![0] !== hi[0]![1])
          this.fail('a range bound must be a single character', dash);
        if (lo[0]![0] > hi[0]![0]) this.fail('range out of order in character class', dash);
        members.push([lo[0]![0], hi[0]![0]]);
      } else members.push(...lo);
    }
    this.i++;
    return emitted(negated ? complement(members) : members);
  }

  /** One class member: a literal character or an escape; a single character comes back as [[cp, cp]]. */
  private classAtom(): [number, number][] {
    const at = this.i;
    const c = this.src[this.i]!;
    if (c === '\\') {
      this.i++;
      return this.escape(true);
    }
    if (c === '[') this.fail('a literal [ inside a class must be escaped', at);
    const cp = this.src.codePointAt(at)!;
    this.i = at + String.fromCodePoint(cp).length;
    return [[cp, cp]];
  }

  private quantified(node: RegexNode): RegexNode {
    const at = this.i;
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return this.fail('malformed {…} quantifier', at);
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (min > max) this.fail('numbers out of order in {…} quantifier', at);
      if (min > MAX_REGEX_REPEAT || (Number.isFinite(max) && max > MAX_REGEX_REPEAT))
        this.fail(`repetition counts above ${MAX_REGEX_REPEAT} are not supported`, at);
      this.i += m[0].length - 1;
    } else return node;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy: same language
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') this.fail('nothing to repeat', this.i);
    return { t: 'repeat', node, min, max };
  }
}

/** Parses a pattern of the supported subset; throws RegexSubsetError with the offset of the problem. */
export function parseRegexSubset(pattern: string): RegexNode {
  return new Parser(pattern).parse();
}

/** Longest match in characters (Infinity when unbounded); -Infinity when nothing can match. */
export function regexMaxChars(node: RegexNode): number {
  switch (node.t) {
    case 'chars':
      return node.ranges.length || node.allNonAscii ? 1 : Number.NEGATIVE_INFINITY;
    case 'seq':
      return node.items.reduce((n, item) => n + regexMaxChars(item), 0);
    case 'alt':
      return Math.max(...node.options.map(regexMaxChars));
    case 'repeat': {
      const inner = regexMaxChars(node.node);
      if (inner === Number.NEGATIVE_INFINITY) return node.min === 0 ? 0 : inner;
      return inner === 0 ? 0 : inner * node.max;
    }
  }
}

/** Whether any string matches (every character set the grammar may emit can be empty after exclusions). */
export function regexSatisfiable(node: RegexNode): boolean {
  return regexMaxChars(node) !== Number.NEGATIVE_INFINITY;
}
