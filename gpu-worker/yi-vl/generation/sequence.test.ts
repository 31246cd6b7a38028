import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { resolveParams } from './params.ts';
import { type LogitsMask, SequenceState } from './sequence.ts';

const { tokenizer } = loadYiTokenizer();
const V = tokenizer.vocabSize;

function sequence(params: Parameters<typeof resolveParams>[0], logitsMask?: LogitsMask): SequenceState {
  return new SequenceState({
    tokenizer,
    promptTextIds: [1000],
    promptPositions: 10,
    maxPositions: 100,
    params: resolveParams(params),
    eosIds: [2],
    ...(logitsMask ? { logitsMask } : {}),
  });
}

/** Two rows of a batched output: row 0 prefers 1000, then 1001, then 1002. */
function batchedLogits(): Float32Array {
  const l = new Float32Array(2 * V);
  l[1000] = 3;
  l[1001] = 2;
  l[1002] = 1;
  return l;
}

describe('SequenceState logits mask', () => {
  test('forbidden ids are never chosen; the caller’s (batched) logits are left as they were', () => {
    const forbid: LogitsMask = {
      apply: (_generated, logits) => {
        logits[1001] = Number.NEGATIVE_INFINITY;
      },
    };
    const logits = batchedLogits();
    const before = logits.slice();
    assert.equal(sequence({ temperature: 0, maxNewTokens: 4 }).accept(logits.subarray(0, V)), 1000);
    const masked = sequence({ temperature: 0, maxNewTokens: 4, repetitionPenalty: 4 }, forbid);
    // the repetition penalty pushes 1000 (in the prompt) below 1001; the mask then rules 1001 out
    assert.equal(masked.accept(logits.subarray(0, V)), 1002);
    assert.deepEqual(logits, before);
  });

  test('the mask sees the processed logits and the ids generated so far', () => {
    const seen: { generated: number[]; at1000: number }[] = [];
    const spy: LogitsMask = {
      apply: (generated, logits) => {
        seen.push({ generated: [...generated], at1000: logits[1000]! });
      },
    };
    // 1000 is in the prompt: halved by the penalty, so 1001 wins the first step
    const s = sequence({ temperature: 0, maxNewTokens: 4, repetitionPenalty: 2 }, spy);
    s.accept(batchedLogits());
    s.accept(batchedLogits());
    assert.deepEqual(seen, [
      { generated: [], at1000: 1.5 },
      { generated: [1001], at1000: 1.5 },
    ]);
  });
});
