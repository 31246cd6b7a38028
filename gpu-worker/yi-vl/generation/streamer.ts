// Incremental answer text. Wraps the byte-safe StreamDecoder and only releases text that can no longer change
// in the final answer: leading whitespace, trailing whitespace and a trailing partial stop string ("#", "##") are
// held back, and nothing after a stop string is ever released. The concatenation of all deltas equals
// finalizeText(full text). With no stop string (a grammar-constrained answer, where "###" may be part of the
// document and the grammar decides where the answer ends) the text is only trimmed.
import { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { finalizeText, STOP_STRING } from './stopping-criteria.ts';

export type TextCallback = (delta: string) => void;

export class TextStreamer {
  private readonly decoder: StreamDecoder;
  private raw = '';
  private emitted = 0;

  constructor(
    tokenizer: SentencePieceTokenizer,
    private readonly onText?: TextCallback,
    /** null: no stop string is looked for in the text */
    private readonly stop: string | null = STOP_STRING,
  ) {
    this.decoder = new StreamDecoder(tokenizer);
  }

  /** Full decoded text so far (complete characters only, not cut or trimmed). */
  get text(): string {
    return this.raw;
  }

  /** Feeds one generated token; returns the released delta. */
  push(id: number): string {
    this.raw += this.decoder.push(id);
    return this.release(this.visible(false));
  }

  /** Ends the stream; returns the last delta. `finalText` is then finalizeText(text). */
  end(): string {
    this.raw += this.decoder.flush();
    return this.release(this.visible(true));
  }

  get finalText(): string {
    return this.stop === null ? this.raw.trim() : finalizeText(this.raw, this.stop);
  }

  private visible(final: boolean): string {
    if (this.stop === null) return this.raw.trim();
    const at = this.raw.indexOf(this.stop);
    if (at >= 0 || final) return finalizeText(this.raw, this.stop);
    let t = this.raw.trimStart();
    for (let k = Math.min(this.stop.length - 1, t.length); k > 0; k--) {
      if (t.endsWith(this.stop.slice(0, k))) {
        t = t.slice(0, -k);
        break;
      }
    }
    return t.trimEnd();
  }

  private release(visible: string): string {
    if (visible.length <= this.emitted) return '';
    const delta = visible.slice(this.emitted);
    this.emitted = visible.length;
    if (delta && this.onText) this.onText(delta);
    return delta;
  }
}
