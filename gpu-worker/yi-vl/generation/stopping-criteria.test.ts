import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import {
  ContextLimitCriterion,
  EosCriterion,
  finalizeText,
  MaxNewTokensCriterion,
  StoppingCriteria,
  StopStringCriterion,
  stopStringTokenIds,
} from './stopping-criteria.ts';

const state = (generated: number[], text = '', contextUsed = 0) => ({ generated, text, contextUsed });

describe('stopping criteria', () => {
  test('eos ids from generation_config stop with "stop"', () => {
    const c = new EosCriterion([7]);
    assert.equal(c.check(state([5, 7])), 'stop');
    assert.equal(c.check(state([7, 5])), null);
    assert.equal(new EosCriterion([2, 7]).check(state([2])), 'stop');
  });

  test('"###" anywhere in the decoded output stops', () => {
    const c = new StopStringCriterion();
    assert.equal(c.check(state([1], 'A cat.\n##')), null);
    assert.equal(c.check(state([1], 'A cat.\n###')), 'stop');
    assert.equal(c.check(state([1], 'x ### Human: y')), 'stop');
  });

  test('max_new_tokens and the context limit stop with "length"', () => {
    assert.equal(new MaxNewTokensCriterion(3).check(state([1, 2])), null);
    assert.equal(new MaxNewTokensCriterion(3).check(state([1, 2, 3])), 'length');
    assert.equal(new ContextLimitCriterion(10).check(state([1], '', 9)), null);
    assert.equal(new ContextLimitCriterion(10).check(state([1], '', 10)), 'length');
    assert.throws(() => new MaxNewTokensCriterion(0), RangeError);
  });

  test('first matching criterion wins; an aborted signal reads as canceled', () => {
    const ac = new AbortController();
    const all = new StoppingCriteria([new EosCriterion([7]), new MaxNewTokensCriterion(1)], ac.signal);
    assert.equal(all.check(state([7])), 'stop');
    assert.equal(all.check(state([8])), 'length');
    assert.equal(all.canceled, false);
    ac.abort();
    assert.equal(all.canceled, true);
  });

  test('final text is cut at the first "###" and trimmed', () => {
    assert.equal(finalizeText(' Two cats sleep.\n### Human: and'), 'Two cats sleep.');
    assert.equal(finalizeText('a ### b ###'), 'a');
    assert.equal(finalizeText('  no stop  \n'), 'no stop');
    assert.equal(finalizeText('###'), '');
  });

  test('the tokens that can complete "###" are exactly those whose text holds a "#"', () => {
    const { tokenizer } = loadYiTokenizer();
    const ids = stopStringTokenIds(tokenizer);
    const decode = (id: number) => new TextDecoder().decode(tokenizer.tokenBytes(id));
    assert.ok(ids.length > 0 && ids.length < tokenizer.vocabSize / 100, `${ids.length} ids`);
    for (const id of ids) assert.ok(tokenizer.tokenBytes(id).includes(0x23), decode(id));
    // every token of an encoded "###" (whatever the pieces) is among them, and ordinary words are not
    for (const id of tokenizer.encode('Hello.\n###')) if (decode(id).includes('#')) assert.ok(ids.includes(id));
    for (const id of tokenizer.encode('A cat on a mat.')) assert.ok(!ids.includes(id), decode(id));
  });
});
