import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { StreamDecoder } from './stream-decoder.ts';
import { loadYiTokenizer } from './yi-tokenizer.ts';

interface Vector {
  name: string;
  text: string;
  ids?: number[];
  pieces?: string[];
  decoded?: string;
  chunks?: { text: string; ids: number[] }[];
}
const dataUrl = (name: string) => new URL(name, import.meta.url);
const vectors = JSON.parse(readFileSync(dataUrl('./data/vectors.json'), 'utf8')) as {
  vectors: Vector[];
  streaming: { text: string; ids: number[]; per_token_decode: string[] };
};
const extra = JSON.parse(readFileSync(dataUrl('./testdata/sentencepiece-extra.json'), 'utf8')) as {
  strings: { text: string; ids: number[]; decoded: string }[];
  long: { text: string; ids: number[] };
};
const { tokenizer: tok, knownFile } = loadYiTokenizer();

describe('Yi tokenizer against SentencePiece (vectors.json)', () => {
  test('the bundled file is the known Yi tokenizer.model', () => assert.equal(knownFile, true));

  for (const v of vectors.vectors) {
    test(v.name, () => {
      if (v.ids) {
        assert.deepEqual(tok.encode(v.text), v.ids, 'encode');
        if (v.pieces) assert.deepEqual(tok.encodePieces(v.text), v.pieces, 'pieces');
        assert.equal(tok.decode(v.ids), v.decoded, 'decode');
      }
      for (const c of v.chunks ?? []) assert.deepEqual(tok.encode(c.text), c.ids, `chunk ${JSON.stringify(c.text)}`);
    });
  }

  test('streaming example: per-token decode and held-back bytes', () => {
    const s = vectors.streaming;
    assert.deepEqual(tok.encode(s.text), s.ids);
    assert.deepEqual(
      s.ids.map((id) => tok.decode([id])),
      s.per_token_decode,
    );
    const dec = new StreamDecoder(tok);
    const chunks = s.ids.map((id) => dec.push(id));
    assert.deepEqual(chunks, ['猫', '', '', '', '🐱', '!']);
    assert.equal(dec.flush(), '');
  });
});

describe('Yi tokenizer against SentencePiece (extra oracle strings)', () => {
  test(`${extra.strings.length} random strings encode and decode exactly`, () => {
    const bad = extra.strings.filter((x) => {
      const ids = tok.encode(x.text);
      return ids.length !== x.ids.length || ids.some((id, i) => id !== x.ids[i]) || tok.decode(x.ids) !== x.decoded;
    });
    assert.deepEqual(
      bad.map((b) => b.text),
      [],
    );
  });
  test(`long text (${extra.long.ids.length} tokens)`, () =>
    assert.deepEqual(tok.encode(extra.long.text), extra.long.ids));
});

describe('decoding rules', () => {
  test('control tokens decode to nothing, <unk> to " ⁇ ", user-defined pieces to their text', () => {
    assert.equal(tok.decode([1, 25102, 2]), 'Hello');
    assert.equal(tok.decode([0]), ' ⁇ ');
    assert.equal(tok.decode([7, 144]), '<|im_end|>\n');
  });
  test('invalid byte sequences become one U+FFFD per byte', () => {
    // <0xF0><0x9F> truncated, then "!"
    assert.equal(tok.decode([545, 464, 99]), '\ufffd\ufffd!');
  });
  test('encode → decode round-trips arbitrary well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => tok.decode(tok.encode(s)) === s),
      { numRuns: 300 },
    );
  });
});

describe('StreamDecoder', () => {
  const stream = (ids: number[]) => {
    const d = new StreamDecoder(tok);
    const chunks = ids.map((id) => d.push(id));
    chunks.push(d.flush());
    return chunks;
  };
  const isWholeChars = (s: string) => !/[\ud800-\udbff]$/.test(s) && !s.includes('\ufffd');

  test('Chinese, emoji and rare CJK arrive as whole characters', () => {
    const text = '图片里有一只猫🐱和👍🏽，还有龘靐齉𠀀 é。';
    const chunks = stream(tok.encode(text));
    assert.equal(chunks.join(''), text);
    for (const c of chunks) assert.ok(isWholeChars(c), `chunk ${JSON.stringify(c)}`);
    assert.ok(chunks.filter((c) => c === '').length >= 6, 'byte-fallback tokens are held back');
  });

  test('concatenated chunks equal decode() for any id sequence, incomplete bytes flushed as U+FFFD', () => {
    const byteOrText = fc.oneof(fc.integer({ min: 305, max: 560 }), fc.integer({ min: 0, max: 63999 }));
    fc.assert(
      fc.property(fc.array(byteOrText, { maxLength: 30 }), (ids) => stream(ids).join('') === tok.decode(ids)),
      { numRuns: 500 },
    );
  });
});
