import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { finalizeText } from './stopping-criteria.ts';
import { TextStreamer } from './streamer.ts';

const { tokenizer } = loadYiTokenizer();

function streamAll(ids: number[]) {
  const deltas: string[] = [];
  const s = new TextStreamer(tokenizer, (d) => deltas.push(d));
  const returned = ids.map((id) => s.push(id));
  returned.push(s.end());
  return { deltas, returned: returned.filter((d) => d !== ''), s };
}

describe('TextStreamer', () => {
  test('holds back a partial stop string and never releases text after it', () => {
    const ids = tokenizer.encode(' Two cats.\n### Human: more');
    const { deltas, s } = streamAll(ids);
    assert.equal(deltas.join(''), 'Two cats.');
    assert.equal(s.finalText, 'Two cats.');
    assert.ok(!deltas.join('').includes('#'));
  });

  test('a lone "#" inside the answer is released once it cannot start "###"', () => {
    const { deltas } = streamAll(tokenizer.encode('use C# here'));
    assert.equal(deltas.join(''), 'use C# here');
  });

  test('emoji split over byte-fallback tokens arrive whole', () => {
    const { deltas } = streamAll(tokenizer.encode('猫🐱!'));
    assert.deepEqual(deltas, ['猫', '🐱', '!']);
  });

  test('deltas concatenate to the final text for any token sequence', () => {
    const pieces = ['#', '##', '###', ' ', '\n', 'cat', ' dog', '猫', '🐱', 'é', ' #'].flatMap((t) =>
      tokenizer.encode(t),
    );
    const idArb = fc.oneof(fc.constantFrom(...pieces), fc.integer({ min: 305, max: 560 }));
    fc.assert(
      fc.property(fc.array(idArb, { maxLength: 25 }), (ids) => {
        const { deltas, returned, s } = streamAll(ids);
        const final = finalizeText(tokenizer.decode(ids));
        return deltas.join('') === final && returned.join('') === final && s.finalText === final;
      }),
      { numRuns: 500 },
    );
  });
});
