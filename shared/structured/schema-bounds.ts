// What a compiled schema can produce: the longest document in bytes (the worker's max_new_tokens bound) and which
// referenced locations can produce a finite document at all.
import { regexMaxChars } from './regex-subset.ts';
import { bigMax, type CompiledSchema, type SchemaNode, utf8Length } from './schema-node.ts';

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
