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

  test('the mask comes before the warpers: top-k never leaves only forbidden ids', () => {
    // sampling with top-k 1: were the mask applied after top-k, 1000 alone would survive and then be forbidden
    const only1002: LogitsMask = {
      apply: (_generated, logits) => {
        for (let i = 0; i < logits.length; i++) if (i !== 1002) logits[i] = Number.NEGATIVE_INFINITY;
      },
    };
    const s = sequence({ temperature: 0.7, topK: 1, topP: 0.5, seed: 1, maxNewTokens: 4 }, only1002);
    assert.equal(s.accept(batchedLogits()), 1002);
  });

  test('a mask that ends the answer: "###" in the text does not stop it; its end token stops it, out of the text', () => {
    const hash = tokenizer.encode('###')[0]!;
    const ids = [...tokenizer.encode('"a###b"'), hash];
    let step = 0;
    const accepted: number[] = [];
    const script: LogitsMask = {
      apply: (_generated, logits) => {
        logits.fill(0);
        logits[ids[step]!] = 10;
      },
      accept: (id) => {
        accepted.push(id);
        return ++step === ids.length;
      },
    };
    const s = sequence({ temperature: 0, maxNewTokens: 50 }, script);
    while (s.finishReason === null) s.accept(new Float32Array(V));
    assert.equal(s.finishReason, 'stop');
    assert.deepEqual(accepted, ids);
    assert.deepEqual(s.generated, ids);
    assert.equal(s.finish(), '"a###b"');
  });

  test('a mask that ends the answer still ends with length at max_new_tokens', () => {
    const never: LogitsMask = { apply: () => {}, accept: () => false };
    const s = sequence({ temperature: 0, maxNewTokens: 2 }, never);
    s.accept(batchedLogits());
    s.accept(batchedLogits());
    assert.equal(s.finishReason, 'length');
  });
});
