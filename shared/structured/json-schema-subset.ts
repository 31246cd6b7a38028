// The JSON Schema subset that structured answers support: checked at job creation (on every edge runtime, so plain
// TypeScript, no code generation) and turned into a small tree of nodes that the worker compiles into a grammar.
// Problems carry the JSON Pointer (RFC 6901) of the schema location they are about.
import { parseRegexSubset, type RegexNode, RegexSubsetError, regexMaxChars } from './regex-subset.ts';

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

const ANNOTATIONS = new Set([
  'title',
  'description',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$schema',
  '$id',
  '$defs',
  'definitions',
]);
const TYPE_KEYWORDS: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'pattern'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
  array: ['items', 'minItems', 'maxItems'],
  object: ['properties', 'required', 'additionalProperties'],
  boolean: [],
  null: [],
};
const TYPES = Object.keys(TYPE_KEYWORDS);
const GENERAL = new Set(['type', 'enum', 'const', 'anyOf', '$ref']);
const KNOWN = new Set([...ANNOTATIONS, ...GENERAL, ...Object.values(TYPE_KEYWORDS).flat()]);
const HINTS: Record<string, string> = {
  oneOf: 'use anyOf',
  allOf: 'merge the subschemas into one',
  format: 'use pattern',
  multipleOf: 'not supported',
  uniqueItems: 'not supported',
  prefixItems: 'not supported',
  patternProperties: 'list the properties',
  propertyNames: 'list the properties',
  dependentRequired: 'not supported',
  not: 'not supported',
  if: 'not supported',
};

export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}
function unescapePointerToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function utf8Length(s: string): number {
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

class Analyzer {
  readonly problems: SchemaProblem[] = [];
  readonly refs = new Map<string, SchemaNode>();
  private readonly pendingRefs: { pointer: string; from: string }[] = [];
  private nodes = 0;

  constructor(
    private readonly rootSchema: unknown,
    private readonly limits: SchemaLimits,
  ) {}

  problem(pointer: string, message: string): void {
    this.problems.push({ pointer, message });
  }

  run(): CompiledSchema | null {
    const root = this.node(this.rootSchema, '', 0);
    this.refs.set('', root);
    // Build every referenced location once (they may be referenced before, or from inside, their definition).
    for (let k = 0; k < this.pendingRefs.length; k++) {
      const { pointer, from } = this.pendingRefs[k]!;
      if (this.refs.has(pointer)) continue;
      const target = this.resolve(pointer);
      if (target === undefined) {
        this.problem(`${from}/$ref`, `cannot resolve ${JSON.stringify(`#${pointer}`)}`);
        continue;
      }
      this.refs.set(pointer, { kind: 'any' }); // placeholder while building (cycles)
      this.refs.set(pointer, this.node(target, pointer, pointer.split('/').length - 1));
    }
    if (this.problems.length) return null;
    return { root, refs: this.refs };
  }

  private resolve(pointer: string): unknown {
    let cur: unknown = this.rootSchema;
    if (pointer === '') return cur;
    for (const raw of pointer.slice(1).split('/')) {
      const token = unescapePointerToken(raw);
      if (Array.isArray(cur) && /^(0|[1-9]\d*)$/.test(token)) cur = cur[Number(token)];
      else if (isPlainObject(cur) && Object.hasOwn(cur, token)) cur = cur[token];
      else return undefined;
    }
    return cur;
  }

  private node(schema: unknown, at: string, depth: number): SchemaNode {
    const fallback: SchemaNode = { kind: 'any' };
    if (++this.nodes > this.limits.maxNodes) {
      if (this.nodes === this.limits.maxNodes + 1)
        this.problem(at, `the schema has more than ${this.limits.maxNodes} subschemas`);
      return fallback;
    }
    if (depth > this.limits.maxDepth) {
      this.problem(at, `subschemas are nested deeper than ${this.limits.maxDepth} levels`);
      return fallback;
    }
    if (schema === true) return { kind: 'any' };
    if (schema === false) {
      this.problem(at, 'the schema false matches nothing');
      return fallback;
    }
    if (!isPlainObject(schema)) {
      this.problem(at, 'a schema must be a JSON object');
      return fallback;
    }
    for (const key of Object.keys(schema)) {
      if (!KNOWN.has(key)) {
        const hint = HINTS[key];
        this.problem(
          `${at}/${escapePointerToken(key)}`,
          `the keyword ${JSON.stringify(key)} is not supported${hint && hint !== 'not supported' ? ` (${hint})` : ''}`,
        );
      }
    }
    for (const defsKey of ['$defs', 'definitions']) {
      const defs = schema[defsKey];
      if (defs !== undefined && !isPlainObject(defs)) this.problem(`${at}/${defsKey}`, 'must be an object of schemas');
    }

    if (schema.$ref !== undefined) {
      const ref = schema.$ref;
      if (typeof ref !== 'string' || !ref.startsWith('#') || (ref.length > 1 && ref[1] !== '/')) {
        this.problem(`${at}/$ref`, 'only local references ("#" or "#/…") are supported');
        return fallback;
      }
      const others = Object.keys(schema).filter((k) => k !== '$ref' && !ANNOTATIONS.has(k));
      for (const k of others) this.problem(`${at}/${escapePointerToken(k)}`, 'keywords beside $ref are not supported');
      let pointer: string;
      try {
        pointer = decodeURIComponent(ref.slice(1));
      } catch {
        this.problem(`${at}/$ref`, 'malformed reference');
        return fallback;
      }
      this.pendingRefs.push({ pointer, from: at });
      return { kind: 'ref', pointer };
    }

    if (schema.anyOf !== undefined) {
      const anyOf = schema.anyOf;
      if (!Array.isArray(anyOf) || anyOf.length === 0) {
        this.problem(`${at}/anyOf`, 'must be a non-empty array of schemas');
        return fallback;
      }
      const others = Object.keys(schema).filter((k) => k !== 'anyOf' && !ANNOTATIONS.has(k));
      for (const k of others)
        this.problem(
          `${at}/${escapePointerToken(k)}`,
          'keywords beside anyOf are not supported (move them into each option)',
        );
      return { kind: 'any_of', options: anyOf.map((s, i) => this.node(s, `${at}/anyOf/${i}`, depth + 1)) };
    }

    const types = this.types(schema, at);
    if (types === null) return fallback;

    if (schema.enum !== undefined || schema.const !== undefined) return this.literal(schema, at, types);

    const branches: SchemaNode[] = [];
    for (const type of types ?? this.inferredTypes(schema, at)) {
      const node = this.typed(type, schema, at, depth);
      if (node) branches.push(node);
    }
    if (branches.length === 0) return fallback;
    return branches.length === 1 ? branches[0]! : { kind: 'any_of', options: branches };
  }

  /** The listed types; undefined when `type` is absent; null after a problem. */
  private types(schema: Record<string, unknown>, at: string): string[] | undefined | null {
    const t = schema.type;
    if (t === undefined) return undefined;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0 || list.some((x) => typeof x !== 'string' || !TYPES.includes(x))) {
      this.problem(`${at}/type`, `must be one of ${TYPES.join(', ')}, or an array of them`);
      return null;
    }
    return [...new Set(list as string[])];
  }

  /** Without `type`: the one type its keywords belong to, or any value. */
  private inferredTypes(schema: Record<string, unknown>, at: string): string[] {
    const owners = new Set<string>();
    for (const key of Object.keys(schema))
      for (const [type, kws] of Object.entries(TYPE_KEYWORDS)) if (kws.includes(key)) owners.add(type);
    if (owners.has('integer') && owners.has('number')) owners.delete('integer');
    if (owners.size === 0) return ['any'];
    if (owners.size > 1) {
      this.problem(at, `give "type": keywords of several types (${[...owners].join(', ')}) without one`);
      return [];
    }
    return [...owners];
  }

  private literal(schema: Record<string, unknown>, at: string, types: string[] | undefined): SchemaNode {
    const fallback: SchemaNode = { kind: 'any' };
    const key = schema.enum !== undefined ? 'enum' : 'const';
    if (schema.enum !== undefined && schema.const !== undefined) {
      this.problem(`${at}/const`, 'give enum or const, not both');
      return fallback;
    }
    for (const k of Object.keys(schema))
      if (k !== key && k !== 'type' && !ANNOTATIONS.has(k))
        this.problem(`${at}/${escapePointerToken(k)}`, `keywords beside ${key} other than type are not supported`);
    const values = key === 'enum' ? schema.enum : [schema.const];
    if (!Array.isArray(values)) {
      this.problem(`${at}/enum`, 'must be an array');
      return fallback;
    }
    if (values.length === 0) {
      this.problem(`${at}/enum`, 'an empty enum matches nothing');
      return fallback;
    }
    if (values.length > this.limits.maxEnumValues) {
      this.problem(`${at}/enum`, `more than ${this.limits.maxEnumValues} values`);
      return fallback;
    }
    const allowed = types
      ? values.filter((v) => {
          const t = jsonType(v);
          return types.includes(t) || (t === 'integer' && types.includes('number'));
        })
      : values;
    if (allowed.length === 0) {
      this.problem(`${at}/${key}`, `no value is of type ${types!.join(' or ')}`);
      return fallback;
    }
    const texts = [...new Set(allowed.map((v) => JSON.stringify(v)))];
    return { kind: 'literal', texts };
  }

  private typed(type: string, schema: Record<string, unknown>, at: string, depth: number): SchemaNode | null {
    switch (type) {
      case 'any':
        return { kind: 'any' };
      case 'null':
        return { kind: 'null' };
      case 'boolean':
        return { kind: 'boolean' };
      case 'integer':
      case 'number':
        return this.number(type, schema, at);
      case 'string':
        return this.string(schema, at);
      case 'array':
        return this.array(schema, at, depth);
      case 'object':
        return this.object(schema, at, depth);
    }
    return null;
  }

  private count(schema: Record<string, unknown>, key: string, at: string, cap: number): number | undefined | null {
    const v = schema[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      this.problem(`${at}/${key}`, 'must be a non-negative integer');
      return null;
    }
    if (v > cap) {
      this.problem(`${at}/${key}`, `must be at most ${cap}`);
      return null;
    }
    return v;
  }

  private number(type: 'integer' | 'number', schema: Record<string, unknown>, at: string): SchemaNode | null {
    const digits = type === 'integer' ? 0 : NUMBER_FRACTION_DIGITS;
    const bound = (key: string): number | undefined | null => {
      const v = schema[key];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        this.problem(`${at}/${key}`, 'must be a number');
        return null;
      }
      if (Math.abs(v) > MAX_NUMBER_MAGNITUDE) {
        this.problem(`${at}/${key}`, `magnitudes above ${MAX_NUMBER_MAGNITUDE} are not supported`);
        return null;
      }
      return v;
    };
    const [minimum, maximum, exMin, exMax] = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].map(bound);
    if ([minimum, maximum, exMin, exMax].includes(null)) return null;
    const open = 10n ** BigInt(15 + digits) - 1n;
    let min = -open;
    let max = open;
    if (typeof minimum === 'number') min = bigMax(min, scaledCeil(minimum, digits));
    if (typeof exMin === 'number') min = bigMax(min, scaledFloor(exMin, digits) + 1n);
    if (typeof maximum === 'number') max = bigMin(max, scaledFloor(maximum, digits));
    if (typeof exMax === 'number') max = bigMin(max, scaledCeil(exMax, digits) - 1n);
    if (min > max) {
      const key = maximum !== undefined ? 'maximum' : exMax !== undefined ? 'exclusiveMaximum' : 'minimum';
      this.problem(
        `${at}/${key}`,
        type === 'integer'
          ? 'no integer lies within the bounds'
          : `no number with at most ${digits} decimals lies within the bounds`,
      );
      return null;
    }
    return { kind: 'number', min, max, fractionDigits: digits };
  }

  private string(schema: Record<string, unknown>, at: string): SchemaNode | null {
    const cap = this.limits.maxStringLength;
    const minLength = this.count(schema, 'minLength', at, cap);
    const maxLength = this.count(schema, 'maxLength', at, cap);
    if (minLength === null || maxLength === null) return null;
    if (schema.pattern !== undefined) {
      const pattern = schema.pattern;
      if (typeof pattern !== 'string') {
        this.problem(`${at}/pattern`, 'must be a string');
        return null;
      }
      if (minLength !== undefined || maxLength !== undefined) {
        this.problem(
          `${at}/${minLength !== undefined ? 'minLength' : 'maxLength'}`,
          'pattern with minLength/maxLength is not supported: put the length in the pattern ({m,n})',
        );
        return null;
      }
      if (pattern.length > this.limits.maxPatternLength) {
        this.problem(`${at}/pattern`, `longer than ${this.limits.maxPatternLength} characters`);
        return null;
      }
      try {
        new RegExp(pattern, 'u');
      } catch {
        this.problem(`${at}/pattern`, 'not a valid regular expression');
        return null;
      }
      let regex: RegexNode;
      try {
        regex = parseRegexSubset(pattern);
      } catch (err) {
        if (!(err instanceof RegexSubsetError)) throw err;
        this.problem(`${at}/pattern`, `${err.message} (at offset ${err.offset})`);
        return null;
      }
      if (regexMaxChars(regex) === Number.NEGATIVE_INFINITY) {
        this.problem(`${at}/pattern`, 'the pattern matches no string of generatable characters');
        return null;
      }
      return { kind: 'pattern', regex };
    }
    if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) {
      this.problem(`${at}/minLength`, 'minLength is greater than maxLength');
      return null;
    }
    return { kind: 'string', minLength: minLength ?? 0, maxLength: maxLength ?? null };
  }

  private array(schema: Record<string, unknown>, at: string, depth: number): SchemaNode | null {
    const minItems = this.count(schema, 'minItems', at, this.limits.maxItems);
    const maxItems = this.count(schema, 'maxItems', at, this.limits.maxItems);
    if (minItems === null || maxItems === null) return null;
    if (minItems !== undefined && maxItems !== undefined && minItems > maxItems) {
      this.problem(`${at}/minItems`, 'minItems is greater than maxItems');
      return null;
    }
    if (Array.isArray(schema.items)) {
      this.problem(`${at}/items`, 'tuple items (an array) are not supported: give one schema');
      return null;
    }
    const items: SchemaNode =
      schema.items === undefined ? { kind: 'any' } : this.node(schema.items, `${at}/items`, depth + 1);
    return { kind: 'array', items, minItems: minItems ?? 0, maxItems: maxItems ?? null };
  }

  private object(schema: Record<string, unknown>, at: string, depth: number): SchemaNode | null {
    const props = schema.properties;
    if (props !== undefined && !isPlainObject(props)) {
      this.problem(`${at}/properties`, 'must be an object of schemas');
      return null;
    }
    const additional = schema.additionalProperties;
    if (additional !== undefined && typeof additional !== 'boolean') {
      this.problem(`${at}/additionalProperties`, 'only true or false is supported');
      return null;
    }
    const required = schema.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) {
      this.problem(`${at}/required`, 'must be an array of property names');
      return null;
    }
    const requiredSet = new Set(required as string[]);
    const names = Object.keys(props ?? {});
    if (names.length > this.limits.maxProperties) {
      this.problem(`${at}/properties`, `more than ${this.limits.maxProperties} properties`);
      return null;
    }
    if (names.length === 0 && additional !== false && requiredSet.size === 0) return { kind: 'any_object' };
    const properties = names.map((name) => ({
      name,
      required: requiredSet.has(name),
      node: this.node(props![name], `${at}/properties/${escapePointerToken(name)}`, depth + 1),
    }));
    for (const name of requiredSet) {
      if (names.includes(name)) continue;
      if (additional === false)
        this.problem(
          `${at}/required/${(required as string[]).indexOf(name)}`,
          `${JSON.stringify(name)} is required but not in properties, and additionalProperties is false`,
        );
      // Otherwise any value satisfies the schema for it.
      else properties.push({ name, required: true, node: { kind: 'any' } });
    }
    return { kind: 'object', properties };
  }
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function bigMin(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/**
 * Upper bound on the UTF-8 bytes of any document the grammar generates for the node (Infinity when unbounded), or
 * -Infinity when no document exists. Layout is fixed: `{"a": 1, "b": [1, 2]}` (", " and ": ", no other
 * whitespace); a generated string character is at most 4 bytes (raw UTF-8) and a pattern character at most 6
 * (a \u00XX escape of a control character the pattern asks for).
 */
export function maxDocumentBytes(schema: CompiledSchema, node: SchemaNode = schema.root): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const bytes = (n: SchemaNode): number => {
    switch (n.kind) {
      case 'any':
      case 'any_object':
        return Number.POSITIVE_INFINITY;
      case 'null':
        return 4;
      case 'boolean':
        return 5;
      case 'literal':
        return Math.max(...n.texts.map(utf8Length));
      case 'number': {
        const magnitude = (v: bigint) => (v < 0n ? -v : v);
        const big = bigMax(magnitude(n.min), magnitude(n.max));
        const intDigits = (big / 10n ** BigInt(n.fractionDigits)).toString().length;
        return (n.min < 0n ? 1 : 0) + intDigits + (n.fractionDigits ? 1 + n.fractionDigits : 0);
      }
      case 'string':
        return n.maxLength === null ? Number.POSITIVE_INFINITY : 2 + 4 * n.maxLength;
      case 'pattern':
        return 2 + 6 * regexMaxChars(n.regex);
      case 'array': {
        if (n.maxItems === 0) return 2;
        const item = bytes(n.items);
        if (item === Number.NEGATIVE_INFINITY) return n.minItems === 0 ? 2 : item;
        if (n.maxItems === null) return Number.POSITIVE_INFINITY;
        return 2 + n.maxItems * item + 2 * (n.maxItems - 1);
      }
      case 'object': {
        let total = 2;
        let present = 0;
        for (const p of n.properties) {
          const v = bytes(p.node);
          if (v === Number.NEGATIVE_INFINITY) {
            if (p.required) return v;
            continue;
          }
          total += utf8Length(JSON.stringify(p.name)) + 2 + v;
          present++;
        }
        return total + 2 * Math.max(0, present - 1);
      }
      case 'any_of':
        return Math.max(...n.options.map(bytes));
      case 'ref': {
        const cached = memo.get(n.pointer);
        if (cached !== undefined) return cached;
        if (visiting.has(n.pointer)) return Number.POSITIVE_INFINITY;
        visiting.add(n.pointer);
        const v = bytes(schema.refs.get(n.pointer)!);
        visiting.delete(n.pointer);
        memo.set(n.pointer, v);
        return v;
      }
    }
  };
  return bytes(node);
}

/**
 * Which referenced locations can produce a finite document (least fixed point: a location is satisfiable when its
 * node is, counting only references already known to be satisfiable).
 */
export function satisfiableRefs(schema: CompiledSchema): Set<string> {
  const ok = new Set<string>();
  const sat = (n: SchemaNode): boolean => {
    switch (n.kind) {
      case 'array':
        return n.minItems === 0 || sat(n.items);
      case 'object':
        return n.properties.every((p) => !p.required || sat(p.node));
      case 'any_of':
        return n.options.some(sat);
      case 'ref':
        return ok.has(n.pointer);
      default:
        return true;
    }
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [pointer, node] of schema.refs)
      if (!ok.has(pointer) && sat(node)) {
        ok.add(pointer);
        changed = true;
      }
  }
  return ok;
}

/** Whether a node can produce a document, given the satisfiable references. */
export function nodeSatisfiable(node: SchemaNode, satisfiable: ReadonlySet<string>): boolean {
  switch (node.kind) {
    case 'array':
      return node.minItems === 0 || nodeSatisfiable(node.items, satisfiable);
    case 'object':
      return node.properties.every((p) => !p.required || nodeSatisfiable(p.node, satisfiable));
    case 'any_of':
      return node.options.some((o) => nodeSatisfiable(o, satisfiable));
    case 'ref':
      return satisfiable.has(node.pointer);
    default:
      return true;
  }
}

/** References reachable from themselves without producing a character first (left recursion). */
function unguardedCycle(schema: CompiledSchema): string | null {
  const next = (n: SchemaNode): string[] =>
    n.kind === 'ref' ? [n.pointer] : n.kind === 'any_of' ? n.options.flatMap(next) : [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (p: string): string | null => {
    if (state.get(p) === 'done') return null;
    if (state.get(p) === 'open') return p;
    state.set(p, 'open');
    for (const q of next(schema.refs.get(p)!)) {
      const hit = visit(q);
      if (hit !== null) return hit;
    }
    state.set(p, 'done');
    return null;
  };
  for (const p of schema.refs.keys()) {
    const hit = visit(p);
    if (hit !== null) return hit;
  }
  return null;
}

/** Checks a schema against the supported subset and the limits; on success also its size bound. */
export function analyzeJsonSchema(schema: unknown, limits: SchemaLimits = SCHEMA_LIMITS): SchemaAnalysis {
  let text: string | undefined;
  try {
    text = JSON.stringify(schema);
  } catch {
    text = undefined;
  }
  if (text === undefined) return { ok: false, problems: [{ pointer: '', message: 'not a JSON value' }] };
  if (utf8Length(text) > limits.maxBytes)
    return { ok: false, problems: [{ pointer: '', message: `the schema exceeds ${limits.maxBytes} bytes` }] };
  if (!isPlainObject(schema))
    return { ok: false, problems: [{ pointer: '', message: 'the schema must be a JSON object' }] };
  const analyzer = new Analyzer(schema, limits);
  const compiled = analyzer.run();
  if (!compiled) return { ok: false, problems: analyzer.problems };
  const cycle = unguardedCycle(compiled);
  if (cycle !== null)
    return {
      ok: false,
      problems: [{ pointer: cycle, message: 'this $ref reaches itself without an object or array in between' }],
    };
  const satisfiable = satisfiableRefs(compiled);
  if (!satisfiable.has(''))
    return {
      ok: false,
      problems: [{ pointer: '', message: 'no finite document satisfies the schema (required recursion never ends)' }],
    };
  return { ok: true, schema: compiled, maxBytes: maxDocumentBytes(compiled) };
}

/** Compiles a schema already known to be valid (the worker's side); throws on a problem. */
export function compileJsonSchema(schema: unknown, limits: SchemaLimits = SCHEMA_LIMITS): CompiledSchema {
  const analysis = analyzeJsonSchema(schema, limits);
  if (!analysis.ok) {
    const first = analysis.problems[0]!;
    throw new Error(`unsupported schema at "${first.pointer}": ${first.message}`);
  }
  return analysis.schema;
}
