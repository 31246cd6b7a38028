// UTF-8 helpers with SentencePiece's error semantics: every byte that does not start a well-formed
// character decodes to one U+FFFD (TextDecoder would fold a truncated sequence into a single U+FFFD).

const REPLACEMENT = 0xfffd;
const encoder = new TextEncoder();

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

const isTrail = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80;

/** Length of the well-formed character starting at `i`, or 0 when the byte there starts none. */
function charLength(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return 1;
  const b1 = i + 1 < end ? bytes[i + 1] : undefined;
  if (b0 >= 0xc2 && b0 <= 0xdf) return isTrail(b1) ? 2 : 0;
  const b2 = i + 2 < end ? bytes[i + 2] : undefined;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!isTrail(b1) || !isTrail(b2)) return 0;
    if (b0 === 0xe0 && b1! < 0xa0) return 0; // overlong
    if (b0 === 0xed && b1! > 0x9f) return 0; // surrogate
    return 3;
  }
  const b3 = i + 3 < end ? bytes[i + 3] : undefined;
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!isTrail(b1) || !isTrail(b2) || !isTrail(b3)) return 0;
    if (b0 === 0xf0 && b1! < 0x90) return 0; // overlong
    if (b0 === 0xf4 && b1! > 0x8f) return 0; // > U+10FFFF
    return 4;
  }
  return 0;
}

export function utf8Decode(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const codes: number[] = [];
  let out = '';
  let i = start;
  while (i < end) {
    const n = charLength(bytes, i, end);
    if (n === 0) {
      codes.push(REPLACEMENT);
      i += 1;
    } else {
      let cp = n === 1 ? bytes[i]! : bytes[i]! & (0xff >> (n + 1));
      for (let k = 1; k < n; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
      codes.push(cp);
      i += n;
    }
    if (codes.length >= 4096) {
      out += String.fromCodePoint(...codes);
      codes.length = 0;
    }
  }
  return out + String.fromCodePoint(...codes);
}

/**
 * Number of bytes at the end of `bytes` that form an incomplete but so far valid UTF-8 sequence, i.e. bytes that a
 * streaming decoder must hold back because later bytes may complete the character. 0 when the tail is complete.
 */
export function incompleteTailLength(bytes: Uint8Array, end = bytes.length): number {
  for (let k = 1; k <= 3 && k <= end; k++) {
    const b = bytes[end - k]!;
    if ((b & 0xc0) === 0x80) continue; // trail byte: keep looking for its lead
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (need <= k) return 0;
    const b1 = k >= 2 ? bytes[end - k + 1]! : undefined;
    if (b1 !== undefined) {
      if (b === 0xe0 && b1 < 0xa0) return 0;
      if (b === 0xed && b1 > 0x9f) return 0;
      if (b === 0xf0 && b1 < 0x90) return 0;
      if (b === 0xf4 && b1 > 0x8f) return 0;
    }
    return k;
  }
  return 0;
}
