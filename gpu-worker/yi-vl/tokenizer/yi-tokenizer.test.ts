import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { TokenizerFileError } from './sentencepiece-model.ts';
import { BUNDLED_TOKENIZER_PATH, loadYiTokenizer } from './yi-tokenizer.ts';

const good = readFileSync(BUNDLED_TOKENIZER_PATH);
const dir = mkdtempSync(join(tmpdir(), 'yi-tok-'));
const write = (name: string, bytes: Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

describe('tokenizer file verification at load', () => {
  test('the intact file loads and is recognised', () => {
    const { tokenizer, knownFile } = loadYiTokenizer(write('ok.model', good));
    assert.equal(knownFile, true);
    assert.deepEqual(tokenizer.encode('Hello'), [25102]);
  });

  for (const [name, bytes, pattern] of [
    ['empty file', new Uint8Array(0), /empty/],
    ['truncated at 50 %', good.subarray(0, good.length >> 1), /corrupt or truncated|pieces/],
    ['truncated by one byte', good.subarray(0, good.length - 1), /corrupt or truncated|spec missing|pieces/],
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24), /./],
  ] as const) {
    test(`${name} throws TokenizerFileError`, () => {
      assert.throws(
        () => loadYiTokenizer(write(`${name}.model`, bytes)),
        (err: unknown) => {
          assert.ok(err instanceof TokenizerFileError, String(err));
          assert.match(err.message, pattern);
          return true;
        },
      );
    });
  }

  test('a damaged piece (same length, still parses) fails the self-check, not silently', () => {
    const bad = Uint8Array.from(good);
    // Overwrite the piece "▁the" (id 567) with "▁thx": the file still parses but encodes differently.
    const needle = Buffer.from('\u2581the');
    const at = Buffer.from(bad).indexOf(Buffer.concat([Buffer.from([needle.length]), needle]));
    assert.ok(at > 0);
    bad[at + needle.length] = 'x'.charCodeAt(0);
    assert.throws(() => loadYiTokenizer(write('flipped.model', bad)), /self-check failed/);
  });

  test('a missing file throws a clear error', () => {
    assert.throws(() => loadYiTokenizer(join(dir, 'nope.model')), /cannot read tokenizer file/);
  });
});
