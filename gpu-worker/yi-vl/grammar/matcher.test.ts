import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { SentencePieceTokenizer } from '../tokenizer/tokenizer.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { GrammarCache } from './compiled-grammars.ts';
import { applyBitmask, GrammarConstraint, GrammarRejectedTokenError } from './matcher.ts';
import { grammarPieces } from './tokenizer-info.ts';

describe('GrammarConstraint over the Yi vocabulary', () => {
  let tokenizer: SentencePieceTokenizer;
  let cache: GrammarCache;
  const EOS = 7; // Yi-VL-6B's generation_config EOS (<|im_end|>)
  let hashes: number;

  before(async () => {
    tokenizer = loadYiTokenizer().tokenizer;
    cache = await GrammarCache.create(tokenizer, { eosTokenIds: [EOS] });
    hashes = tokenizer.pieceToId('###');
  });

  const format = (schema: Record<string, unknown>) =>
    ({ type: 'json_schema', json_schema: { name: 't', schema } }) as const;

  test('pieces go to XGrammar as stored; pieces that decode to nothing are given as empty', () => {
    const pieces = grammarPieces(tokenizer);
    assert.equal(pieces.length, 64_000);
    assert.equal(pieces[0], ''); // <unk>
    assert.equal(pieces[1], ''); // <|startoftext|>
    assert.equal(pieces[tokenizer.pieceToId('<0x41>')], '<0x41>');
    assert.equal(pieces[tokenizer.pieceToId('▁{')], '▁{');
  });

  test('EOS and "###" are allowed only where the document is complete, and end it', async () => {
    const c = await GrammarConstraint.create(await cache.get(format({ type: 'integer', minimum: 0, maximum: 99 })));
    assert.deepEqual(c.grammar.vocabulary.stopTokenIds, [EOS, hashes]);
    await c.fillMask();
    assert.equal(c.allows(EOS), false);
    assert.equal(c.allows(hashes), false);
    assert.equal(await c.isComplete(), false);
    assert.equal(c.accept(tokenizer.pieceToId('4')), false);
    assert.equal(await c.isComplete(), true);
    assert.equal(c.allows(EOS), true);
    assert.equal(c.allows(hashes), true);
    assert.equal(c.allows(tokenizer.pieceToId('2')), true); // "42" is in range too
    assert.equal(c.accept(tokenizer.pieceToId('2')), false);
    await c.fillMask();
    assert.equal(c.allows(tokenizer.pieceToId('0')), false); // "420" is not
    assert.equal(c.isStopToken(hashes), true);
    assert.equal(c.accept(hashes), true);
    assert.equal(c.isTerminated(), true);
    assert.throws(() => c.accept(EOS), GrammarRejectedTokenError);
    c.reset();
    assert.equal(c.isTerminated(), false);
    c.dispose();
  });

  test('applyMask sets −Infinity exactly on forbidden tokens; a forbidden token is rejected', async () => {
    const c = await GrammarConstraint.create(await cache.get(format({ const: 'yes' })));
    const mask = await c.fillMask();
    const logits = new Float32Array(64_000).fill(1);
    c.applyMask(logits);
    let allowed = 0;
    for (let id = 0; id < logits.length; id++) {
      if (logits[id] === 1) allowed++;
      assert.equal(logits[id] === 1, c.allows(id), `token ${id}`);
    }
    assert.ok(allowed > 0 && allowed < 100, `${allowed} tokens allowed at the start of "yes"`);
    assert.equal(c.allows(tokenizer.pieceToId('▁"')), true); // the optional leading space
    // Logits longer than the vocabulary (a padded lm_head) are masked past its end.
    const padded = new Float32Array(64_100).fill(1);
    applyBitmask(padded, mask, 64_000);
    assert.equal(padded[64_050], Number.NEGATIVE_INFINITY);
    assert.throws(() => c.accept(tokenizer.pieceToId('no')), GrammarRejectedTokenError);
    c.dispose();
  });

  test('the compiled grammar is cached by the schema’s hash (name and key order do not matter)', async () => {
    const misses = cache.misses;
    const a = await cache.get(format({ type: 'object', properties: { x: { type: 'null' } }, required: ['x'] }));
    const b = await cache.get({
      type: 'json_schema',
      json_schema: { name: 'other', schema: { required: ['x'], properties: { x: { type: 'null' } }, type: 'object' } },
    });
    assert.equal(a, b);
    assert.equal(cache.misses, misses + 1);
  });
});
