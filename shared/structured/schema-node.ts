// The JSON Schema subset's vocabulary: size limits, the compiled node tree the grammar is built from, problems
// with their JSON Pointers, and the exact decimal helpers number bounds need. Runtime-neutral.
import type { RegexNode } from './regex-subset.ts';

/** Size limits of a schema; each problem names the limit it broke. */
export const SCHEMA_LIMITS = {
  /** UTF-8 bytes of the schema serialised as JSON */
  maxBytes: 32 * 1024,
  /** nesting of schema objects (each subschema one level) */
  maxDepth: 24,
  /** subschemas in the whole schema */
  maxNodes: 1024,
  /** properties of one object */
  maxProperties: 128,
  /** values of one enum */
  maxEnumValues: 256,
  /** minLength / maxLength */
  maxStringLength: 4096,
  /** minItems / maxItems */
  maxItems: 1024,
  /** characters of one pattern */
  maxPatternLength: 1000,
} as const;
export type SchemaLimits = { [K in keyof typeof SCHEMA_LIMITS]: number };

/** Numbers are generated with at most this many digits after the point. */
export const NUMBER_FRACTION_DIGITS = 6;
/** Largest magnitude of a bound, and of a number generated where the schema gives no bound. */
export const MAX_NUMBER_MAGNITUDE = 1e15;

export type SchemaNode =
  | { kind: 'any' }
  | { kind: 'any_object' }
  | { kind: 'null' }
  | { kind: 'boolean' }
  /** enum / const: the JSON texts of the allowed values */
  | { kind: 'literal'; texts: string[] }
  /** integers in [min, max] (fractionDigits 0), or decimals scaled by 10^fractionDigits */
  | { kind: 'number'; min: bigint; max: bigint; fractionDigits: number }
  | { kind: 'string'; minLength: number; maxLength: number | null }
  | { kind: 'pattern'; regex: RegexNode }
  | { kind: 'array'; items: SchemaNode; minItems: number; maxItems: number | null }
  | { kind: 'object'; properties: { name: string; required: boolean; node: SchemaNode }[] }
  | { kind: 'any_of'; options: SchemaNode[] }
  /** another location of the same schema ("#", "#/$defs/x") */
  | { kind: 'ref'; pointer: string };

export interface SchemaProblem {
  /** JSON Pointer into the schema ("" is the schema itself) */
  pointer: string;
  message: string;
}

export interface CompiledSchema {
  root: SchemaNode;
  /** the node of every location a $ref points at (and "" for the root) */
  refs: Map<string, SchemaNode>;
}

export type SchemaAnalysis =
  | { ok: true; schema: CompiledSchema; maxBytes: number }
  | { ok: false; problems: SchemaProblem[] };

export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
export function unescapePointerToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function utf8Length(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}

/** Exact value of a finite double's shortest decimal form, as numerator / 10^scale. */
function decimalOf(x: number): { num: bigint; scale: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(x));
  if (!m) throw new RangeError(`not a finite number: ${x}`);
  const [, sign, int, frac = '', exp = '0'] = m;
  let digits = BigInt(int! + frac);
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { num: sign ? -digits : digits, scale };
}

/** floor / ceil of x · 10^digits, exactly. */
export function scaledFloor(x: number, digits: number): bigint {
  const { num, scale } = decimalOf(x);
  const shifted = num * 10n ** BigInt(digits);
  const div = 10n ** BigInt(scale);
  const q = shifted / div;
  return shifted % div !== 0n && shifted < 0n ? q - 1n : q;
}
export function scaledCeil(x: number, digits: number): bigint {
  const { num, scale } = decimalOf(x);
  const shifted = num * 10n ** BigInt(digits);
  const div = 10n ** BigInt(scale);
  const q = shifted / div;
  return shifted % div !== 0n && shifted > 0n ? q + 1n : q;
}

export function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
export function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
