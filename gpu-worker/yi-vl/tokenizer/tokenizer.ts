// SentencePiece tokenizer (encode, decode, per-token bytes) built from a parsed tokenizer.model.
// Reproduces SentencePiece's BPE encode and decode for models with an identity normaliser (Yi).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { concatBytes } from '../../../shared/bytes.ts';
import { type BpeVocab, bpeSegment, PrefixMatcher } from './bpe.ts';
import {
  PieceType,
  parseSentencePieceModel,
  type SentencePieceModel,
  TokenizerFileError,
} from './sentencepiece-model.ts';
import { utf8Decode, utf8Encode } from './utf8.ts';

const SPACE_SYMBOL = '\u2581';
const WORD_CACHE_LIMIT = 50_000;

/**
 * BPE can run independently on the pieces of text that start at each run of "▁" when no mergeable piece has a "▁"
 * after a non-"▁" character (so no merge can span such a boundary) and the only pieces made of "▁" alone are
 * single "▁" or user-defined runs (matched before merging). True for Yi; checked, not assumed.
 */
function wordwiseSafe(m: SentencePieceModel): boolean {
  if (m.byteFallback === false) return false; // unknown folding crosses words; keep the plain path
  for (let id = 0; id < m.vocabSize; id++) {
    const t = m.types[id];
    if (t !== PieceType.NORMAL && t !== PieceType.USER_DEFINED && t !== PieceType.UNUSED) continue;
    const p = m.pieces[id]!;
    const allSpace = [...p].every((c) => c === SPACE_SYMBOL);
    if (allSpace) {
      if (p.length > 1 && t !== PieceType.USER_DEFINED) return false;
    } else if (/[^\u2581]\u2581/.test(p)) {
      return false;
    }
  }
  return true;
}

/** Splits before every run of "▁" that follows another character. */
function splitBeforeSpaceRuns(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 1; i < text.length; i++) {
    if (text.charCodeAt(i) === 0x2581 && text.charCodeAt(i - 1) !== 0x2581) {
      out.push(text.slice(start, i));
      start = i;
    }
  }
  if (text.length > 0) out.push(text.slice(start));
  return out;
}

export class SentencePieceTokenizer {
  readonly model: SentencePieceModel;
  readonly sha256: string;
  private readonly vocab: BpeVocab;
  private readonly reserved = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly surfaceCache: (Uint8Array | undefined)[];
  /** Whether BPE may run word by word (see wordwiseSafe); then words are memoised. */
  private readonly wordwise: boolean;
  private readonly wordCache = new Map<string, number[]>();

  constructor(bytes: Uint8Array, source = 'tokenizer.model') {
    this.sha256 = createHash('sha256').update(bytes).digest('hex');
    const m = parseSentencePieceModel(bytes, source);
    if (m.modelType !== 'BPE') throw new TokenizerFileError(`${source}: model_type ${m.modelType}, expected BPE`);
    if (m.normalizer.hasCharsmap || m.treatWhitespaceAsSuffix) {
      throw new TokenizerFileError(`${source}: normaliser rules or whitespace-as-suffix are not supported`);
    }
    this.model = m;
    const mergeable = new Map<string, number>();
    const userDefined: string[] = [];
    for (let id = 0; id < m.vocabSize; id++) {
      const piece = m.pieces[id]!;
      const t = m.types[id];
      if (t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED) {
        if (!mergeable.has(piece)) mergeable.set(piece, id);
        if (t === PieceType.USER_DEFINED) userDefined.push(piece);
      } else if (!this.reserved.has(piece)) {
        this.reserved.set(piece, id);
      }
      if (t === PieceType.BYTE) {
        const b = /^<0x([0-9A-F]{2})>$/.exec(piece);
        if (!b) throw new TokenizerFileError(`${source}: malformed byte piece ${JSON.stringify(piece)} (id ${id})`);
        this.byteIds[Number.parseInt(b[1]!, 16)] = id;
      }
    }
    if (m.byteFallback && this.byteIds.includes(-1)) {
      throw new TokenizerFileError(`${source}: byte_fallback is on but not all 256 byte pieces exist`);
    }
    if (m.types[m.unkId] !== PieceType.UNKNOWN) {
      throw new TokenizerFileError(`${source}: unk_id ${m.unkId} is not the UNKNOWN piece`);
    }
    this.vocab = { mergeable, scores: m.scores, userDefined: new PrefixMatcher(userDefined) };
    this.surfaceCache = new Array(m.vocabSize);
    this.wordwise = wordwiseSafe(m);
  }

  static fromFile(path: string): SentencePieceTokenizer {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new TokenizerFileError(`cannot read tokenizer file ${path}: ${(err as Error).message}`);
    }
    return new SentencePieceTokenizer(bytes, path);
  }

  get vocabSize(): number {
    return this.model.vocabSize;
  }
  get bosId(): number {
    return this.model.bosId;
  }
  get eosId(): number {
    return this.model.eosId;
  }

  idToPiece(id: number): string {
    const p = this.model.pieces[id];
    if (p === undefined) throw new RangeError(`token id ${id} outside the vocabulary (0…${this.vocabSize - 1})`);
    return p;
  }

  pieceToId(piece: string): number {
    return this.vocab.mergeable.get(piece) ?? this.reserved.get(piece) ?? this.model.unkId;
  }

  isControl(id: number): boolean {
    return this.model.types[id] === PieceType.CONTROL;
  }

  normalize(text: string): string {
    const ns = this.model.normalizer;
    let t = text;
    if (ns.removeExtraWhitespaces) t = t.replace(/ +/g, ' ').trim();
    if (ns.addDummyPrefix && t.length > 0) t = ' ' + t;
    if (ns.escapeWhitespaces) t = t.replaceAll(' ', SPACE_SYMBOL);
    return t;
  }

  /** Plain SentencePiece encode: no BOS/EOS. */
  encode(text: string): number[] {
    const normalized = this.normalize(text);
    if (!this.wordwise) return this.encodeSegment(normalized);
    const ids: number[] = [];
    for (const word of splitBeforeSpaceRuns(normalized)) {
      let wordIds = this.wordCache.get(word);
      if (!wordIds) {
        wordIds = this.encodeSegment(word);
        if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
        if (word.length <= 64) this.wordCache.set(word, wordIds);
      }
      for (const id of wordIds) ids.push(id);
    }
    return ids;
  }

  private encodeSegment(normalized: string): number[] {
    const ids: number[] = [];
    const m = this.model;
    let lastWasUnk = false;
    for (const piece of bpeSegment(normalized, this.vocab)) {
      const id = this.pieceToId(piece);
      if (id !== m.unkId) {
        ids.push(id);
        lastWasUnk = false;
      } else if (m.byteFallback) {
        for (const b of utf8Encode(piece)) ids.push(this.byteIds[b]!);
      } else if (!lastWasUnk) {
        ids.push(id); // SentencePiece folds consecutive unknowns into one
        lastWasUnk = true;
      }
    }
    return ids;
  }

  encodePieces(text: string): string[] {
    return this.encode(text).map((id) => this.idToPiece(id));
  }

  /** The bytes a token contributes to decoded text (CONTROL: none, BYTE: one raw byte, "▁" → space). */
  tokenBytes(id: number): Uint8Array {
    const cached = this.surfaceCache[id];
    if (cached) return cached;
    const piece = this.idToPiece(id);
    const t = this.model.types[id];
    let bytes: Uint8Array;
    if (t === PieceType.CONTROL) bytes = new Uint8Array(0);
    else if (t === PieceType.UNKNOWN) bytes = utf8Encode(this.model.unkSurface);
    else if (t === PieceType.BYTE) bytes = Uint8Array.of(Number.parseInt(piece.slice(3, 5), 16));
    else bytes = utf8Encode(piece.replaceAll(SPACE_SYMBOL, ' '));
    this.surfaceCache[id] = bytes;
    return bytes;
  }

  decodeBytes(ids: readonly number[]): Uint8Array {
    return concatBytes(ids.map((id) => this.tokenBytes(id)));
  }

  decode(ids: readonly number[]): string {
    return utf8Decode(this.decodeBytes(ids));
  }
}
