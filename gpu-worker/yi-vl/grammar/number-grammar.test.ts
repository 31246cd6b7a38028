import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decimalRangeGrammar } from './number-grammar.ts';
import { initXGrammar } from './xgrammar.ts';

/** Every number text with at most `digits` decimals within 1.5 of the range, plus some non-canonical forms. */
function candidates(min: number, max: number, digits: number): string[] {
  const out = new Set<string>();
  const scale = 10 ** digits;
  for (let n = Math.floor((min - 1.5) * scale); n <= Math.ceil((max + 1.5) * scale); n++) {
    const v = n / 10 ** digits;
    out.add(String(v));
    if (digits) out.add(v.toFixed(digits));
  }
  for (const s of ['-0', '00', '01', '1.', '.5', '-', '1e2', '0.0000001', '+1']) out.add(s);
  return [...out];
}

function inRange(text: string, min: number, max: number, digits: number): boolean {
  if (!/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) || text === '-0' || /^-0(\.0+)?$/.test(text)) return false;
  const frac = text.split('.')[1] ?? '';
  if (frac.length > digits) return false;
  const v = Number(text);
  return v >= min && v <= max;
}

test('number ranges accept exactly the in-range JSON numbers with at most N decimals', async () => {
  const xg = await initXGrammar();
  const cases: [number, number, number][] = [
    [0, 1, 2],
    [0.5, 2.5, 2],
    [-10, 10, 1],
    [-120, 3000, 0],
    [-3.25, -0.5, 2],
    [-0.07, 0.07, 2],
    [7, 93, 0],
    [-45, -8, 0],
    [0, 0, 0],
    [0.3, 0.31, 2],
  ];
  for (const [min, max, digits] of cases) {
    const scale = 10 ** digits;
    const grammar = await xg.Grammar.fromEBNF(
      `root ::= ${decimalRangeGrammar(BigInt(Math.ceil(min * scale - 1e-9)), BigInt(Math.floor(max * scale + 1e-9)), digits)}`,
    );
    for (const text of candidates(min, max, digits)) {
      const expected = inRange(text, min, max, digits);
      const got = await xg.Testings.isGrammarAcceptString(grammar, text);
      assert.equal(got, expected, `[${min}, ${max}] with ${digits} decimals: ${text}`);
    }
    grammar.dispose();
  }
});
