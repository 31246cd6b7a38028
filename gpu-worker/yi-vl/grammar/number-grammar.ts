// EBNF for the decimal texts of a bounded range: every generated number lies in [min, max], written as JSON writes
// numbers (no leading zeros, no exponent, no "-0"), with at most `fractionDigits` digits after the point.
// Bounds are scaled integers (value · 10^fractionDigits), so the comparison is exact.

const ANY = '[0-9]';

function repeatAny(n: number): string {
  return n <= 0 ? '' : n === 1 ? ANY : `${ANY}{${n}}`;
}
function upTo(n: number): string {
  return n <= 0 ? '' : `${ANY}{0,${n}}`;
}
function join(...parts: string[]): string {
  const kept = parts.filter((p) => p !== '' && p !== '""');
  return kept.length ? kept.join(' ') : '""';
}
function alt(options: string[]): string {
  const kept = [...new Set(options)];
  return kept.length === 1 ? kept[0]! : `(${kept.join(' | ')})`;
}
function digitClass(lo: number, hi: number): string {
  return lo === hi ? `"${lo}"` : lo === 0 && hi === 9 ? ANY : `[${lo}-${hi}]`;
}

/** Digit strings of one length n (leading zeros allowed) between lo and hi, both of length n. */
function fixedRange(lo: string, hi: string): string {
  if (lo.length === 0) return '""';
  if (lo === hi) return `"${lo}"`;
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const rest = lo.length - 1;
  const loRest = lo.slice(1);
  const hiRest = hi.slice(1);
  if (a === b) return join(`"${lo[0]}"`, fixedRange(loRest, hiRest));
  // Whole blocks ("d00…" to "e99…") become one class followed by free digits.
  const fullLo = /^0*$/.test(loRest);
  const fullHi = /^9*$/.test(hiRest);
  const options: string[] = [];
  if (!fullLo) options.push(join(`"${a}"`, fixedRange(loRest, '9'.repeat(rest))));
  const from = fullLo ? a : a + 1;
  const to = fullHi ? b : b - 1;
  if (from <= to) options.push(join(digitClass(from, to), repeatAny(rest)));
  if (!fullHi) options.push(join(`"${b}"`, fixedRange('0'.repeat(rest), hiRest)));
  return alt(options);
}

/** Integers in [lo, hi] (0 ≤ lo ≤ hi) without leading zeros. */
export function unsignedIntegerRange(lo: bigint, hi: bigint): string {
  const options: string[] = [];
  const minLen = lo.toString().length;
  const maxLen = hi.toString().length;
  let fullFrom = 0;
  let fullTo = -1;
  for (let len = minLen; len <= maxLen; len++) {
    const floor = len === 1 ? 0n : 10n ** BigInt(len - 1);
    const ceil = 10n ** BigInt(len) - 1n;
    const a = lo > floor ? lo : floor;
    const b = hi < ceil ? hi : ceil;
    if (a > b) continue;
    if (len > 1 && a === floor && b === ceil) {
      // Every number of this length: merged with neighbouring full lengths into one [1-9] [0-9]{m,n}.
      if (fullTo < 0) fullFrom = len;
      fullTo = len;
      continue;
    }
    options.push(fixedRange(a.toString(), b.toString()));
  }
  if (fullTo > 0) {
    const [m, n] = [fullFrom - 1, fullTo - 1];
    options.push(join('[1-9]', m === n ? repeatAny(m) : `${ANY}{${m},${n}}`));
  }
  return alt(options);
}

/**
 * Non-empty digit strings g of length 1…n with lo ≤ g padded with zeros to n digits ≤ hi (lo, hi of length n).
 * A shorter string stands for trailing zeros, so "5" and "50" are both 0.5 when n = 2.
 */
function fractionRange(lo: string, hi: string): string {
  const n = lo.length;
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const options: string[] = [];
  if (a === b) options.push(join(`"${a}"`, fractionTail(lo.slice(1), hi.slice(1))));
  else {
    const fullLo = /^0*$/.test(lo.slice(1));
    const fullHi = /^9*$/.test(hi.slice(1));
    if (!fullLo) options.push(join(`"${a}"`, fractionTail(lo.slice(1), '9'.repeat(n - 1))));
    const from = fullLo ? a : a + 1;
    const to = fullHi ? b : b - 1;
    if (from <= to) options.push(join(digitClass(from, to), upTo(n - 1)));
    if (!fullHi) options.push(join(`"${b}"`, fractionTail('0'.repeat(n - 1), hi.slice(1))));
  }
  return alt(options);
}

/** Like fractionRange but the empty string is allowed too when lo is all zeros. */
function fractionTail(lo: string, hi: string): string {
  if (lo.length === 0) return '""';
  if (/^0*$/.test(lo) && /^9*$/.test(hi)) return upTo(lo.length);
  const body = fractionRange(lo, hi);
  return /^0*$/.test(lo) ? `(${body})?` : body;
}

/** Non-negative decimals in [lo, hi] (scaled, 0 ≤ lo ≤ hi). */
function unsignedDecimalRange(lo: bigint, hi: bigint, digits: number): string {
  if (digits === 0) return unsignedIntegerRange(lo, hi);
  const scale = 10n ** BigInt(digits);
  const pad = (v: bigint) => v.toString().padStart(digits, '0');
  const [ia, fa] = [lo / scale, lo % scale];
  const [ib, fb] = [hi / scale, hi % scale];
  const suffix = (from: bigint, to: bigint) => {
    const body = `"." ${fractionRange(pad(from), pad(to))}`;
    return from === 0n ? `(${body})?` : `(${body})`;
  };
  if (ia === ib) return join(`"${ia}"`, suffix(fa, fb));
  const options: string[] = [];
  let firstWhole = ia;
  if (fa !== 0n) {
    options.push(join(`"${ia}"`, suffix(fa, scale - 1n)));
    firstWhole = ia + 1n;
  }
  const lastWhole = fb === scale - 1n ? ib : ib - 1n;
  if (firstWhole <= lastWhole)
    options.push(join(unsignedIntegerRange(firstWhole, lastWhole), `("." ${ANY}{1,${digits}})?`));
  if (lastWhole < ib) options.push(join(`"${ib}"`, suffix(0n, fb)));
  return alt(options);
}

/** Numbers in [min, max] given as scaled integers (value · 10^digits). */
export function decimalRangeGrammar(min: bigint, max: bigint, digits: number): string {
  const options: string[] = [];
  if (min < 0n) {
    // Negative values, mirrored; the smallest magnitude is one unit so that "-0" never appears.
    const from = max < 0n ? -max : 1n;
    options.push(join('"-"', unsignedDecimalRange(from, -min, digits)));
  }
  if (max >= 0n) options.push(unsignedDecimalRange(min > 0n ? min : 0n, max, digits));
  return alt(options);
}
