// SentencePiece BPE segmentation (the algorithm of sentencepiece/src/bpe_model.cc): start from characters
// (user-defined pieces matched longest-first and frozen), repeatedly merge the adjacent pair whose merged piece has
// the highest score (ties: leftmost), using a binary heap with lazy invalidation — O(n log n), no rescans.

interface Pair {
  left: number;
  right: number;
  score: number;
  size: number;
}

class PairHeap {
  private items: Pair[] = [];
  get size(): number {
    return this.items.length;
  }
  // a ranks before b: higher score, then smaller left index.
  private before(a: Pair, b: Pair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(p: Pair): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): Pair | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && this.before(a[l]!, a[best]!)) best = l;
        if (r < a.length && this.before(a[r]!, a[best]!)) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best]!, a[i]!];
        i = best;
      }
    }
    return top;
  }
}

/** Longest-prefix matcher over the user-defined pieces. */
export class PrefixMatcher {
  private byFirst = new Map<string, string[]>();
  constructor(words: Iterable<string>) {
    for (const w of words) {
      if (w.length === 0) continue;
      const k = w[0]!;
      const list = this.byFirst.get(k) ?? [];
      list.push(w);
      this.byFirst.set(k, list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.length - a.length);
  }
  /** Length (UTF-16 units) of the longest word at `pos`, or 0. */
  match(text: string, pos: number): number {
    const list = this.byFirst.get(text[pos]!);
    if (!list) return 0;
    for (const w of list) if (text.startsWith(w, pos)) return w.length;
    return 0;
  }
}

export interface BpeVocab {
  /** NORMAL, USER_DEFINED and UNUSED pieces: the ones merges may produce. */
  mergeable: Map<string, number>;
  scores: Float32Array;
  userDefined: PrefixMatcher;
}

/** Segments already-normalised text into pieces (strings); id lookup and byte fallback happen in the caller. */
export function bpeSegment(text: string, vocab: BpeVocab): string[] {
  const starts: number[] = [];
  const lens: number[] = [];
  const frozen: boolean[] = [];
  for (let pos = 0; pos < text.length; ) {
    const m = vocab.userDefined.match(text, pos);
    let len = m;
    if (m === 0) {
      const c = text.charCodeAt(pos);
      len = c >= 0xd800 && c <= 0xdbff && pos + 1 < text.length ? 2 : 1;
    }
    starts.push(pos);
    lens.push(len);
    frozen.push(m > 0);
    pos += len;
  }
  const n = starts.length;
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new PairHeap();
  const consider = (left: number, right: number): void => {
    if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
    const size = lens[left]! + lens[right]!;
    const id = vocab.mergeable.get(text.substr(starts[left]!, size));
    if (id === undefined) return;
    heap.push({ left, right, score: vocab.scores[id]!, size });
  };
  for (let i = 1; i < n; i++) consider(i - 1, i);
  while (heap.size > 0) {
    const top = heap.pop()!;
    const l = top.left;
    const r = top.right;
    // Stale entry: one side was merged away or grew since the pair was queued.
    if (lens[l] === 0 || lens[r] === 0 || lens[l]! + lens[r]! !== top.size) continue;
    lens[l] = top.size;
    lens[r] = 0;
    const after = next[r]!;
    next[l] = after;
    if (after >= 0) prev[after] = l;
    consider(prev[l]!, l);
    consider(l, after);
  }
  const out: string[] = [];
  for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) out.push(text.substr(starts[i]!, lens[i]!));
  return out;
}
