// Incremental detokeniser: feed token ids one at a time, get back only text made of complete UTF-8 characters.
// Bytes of a character split across byte-fallback tokens are held until the character is complete, so streamed
// chunks never contain half a character, and their concatenation equals decode(allIds).
import type { SentencePieceTokenizer } from './tokenizer.ts';
import { incompleteTailLength, utf8Decode } from './utf8.ts';

export class StreamDecoder {
  private pending = new Uint8Array(16);
  private pendingLength = 0;

  constructor(private readonly tokenizer: SentencePieceTokenizer) {}

  /** Adds one token; returns the newly completed text (possibly ''). */
  push(id: number): string {
    const bytes = this.tokenizer.tokenBytes(id);
    if (this.pendingLength + bytes.length > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.pending.length * 2, this.pendingLength + bytes.length));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(bytes, this.pendingLength);
    this.pendingLength += bytes.length;
    const hold = incompleteTailLength(this.pending, this.pendingLength);
    const ready = this.pendingLength - hold;
    if (ready === 0) return '';
    const text = utf8Decode(this.pending, 0, ready);
    this.pending.copyWithin(0, ready, this.pendingLength);
    this.pendingLength = hold;
    return text;
  }

  /** Ends the stream: bytes still held (an unfinished character) become U+FFFD, as decode() would render them. */
  flush(): string {
    const text = utf8Decode(this.pending, 0, this.pendingLength);
    this.pendingLength = 0;
    return text;
  }

  get hasPending(): boolean {
    return this.pendingLength > 0;
  }
}
