// Small helpers for same-run A/B measurements: interleaved rounds, medians, ratio lines.

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs `a` and `b` alternately for `rounds` rounds (after one warm-up each) and returns the median of each; the
 * alternation keeps drift from other load on the machine from favouring either side.
 */
export async function abMedians(
  rounds: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: number; b: number; as: number[]; bs: number[] }> {
  await a();
  await b();
  const as: number[] = [];
  const bs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return { a: median(as), b: median(bs), as, bs };
}

export function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** One result line: `name: A label=… | B label=… | ratio=…` (ratio = a / b unless given). */
export function line(name: string, a: [string, number, string], b: [string, number, string], ratio?: number): string {
  const r = ratio ?? a[1] / b[1];
  return `${name.padEnd(44)} ${a[0]}=${fmt(a[1])}${a[2]}  ${b[0]}=${fmt(b[1])}${b[2]}  ratio=${fmt(r, 3)}`;
}
