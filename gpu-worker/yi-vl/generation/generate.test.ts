import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GENERATION_DEFAULTS, GenerationParamsSchema } from '../../../shared/schemas/generation-params.ts';
import { loadYiTokenizer } from '../tokenizer/yi-tokenizer.ts';
import { generate, type LogitsSource } from './generate.ts';
import { resolveParams } from './params.ts';

const { tokenizer } = loadYiTokenizer();
const V = tokenizer.vocabSize;

/** Logits that put all mass on a scripted continuation (then repeat the last id). */
function scripted(ids: number[]): LogitsSource & { calls: number } {
  let i = 0;
  const oneHot = () => {
    const l = new Float32Array(V).fill(-10);
    l[ids[Math.min(i, ids.length - 1)]!] = 10;
    i++;
    return l;
  };
  const src = {
    calls: 0,
    prefill: async () => oneHot(),
    step: async () => {
      src.calls++;
      return oneHot();
    },
  };
  return src;
}

/** Pseudo-random but deterministic logits derived from the fed ids. */
function noisy(): LogitsSource {
  let h = 17;
  const logits = () => {
    const l = new Float32Array(V);
    for (let k = 0; k < V; k++) {
      h = (Math.imul(h, 1664525) + 1013904223) | 0;
      l[k] = ((h >>> 8) / 2 ** 24) * 8;
    }
    return l;
  };
  return {
    prefill: async () => logits(),
    step: async (id) => {
      h ^= id;
      return logits();
    },
  };
}

const base = {
  tokenizer,
  promptTextIds: [1, 2, 3],
  promptPositions: 10,
  maxPositions: 4096,
  eosIds: [7],
};

describe('generate loop', () => {
  test('greedy: stops at EOS with "stop"; EOS counted but not in the text', async () => {
    const ids = [...tokenizer.encode('A cat.'), 7, 99];
    const r = await generate({ ...base, source: scripted(ids), params: resolveParams({ temperature: 0 }) });
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.text, 'A cat.');
    assert.deepEqual(r.outputTokenIds, ids.slice(0, -1));
    assert.equal(r.seed, null);
  });

  test('stop string: cut at "###" and trimmed', async () => {
    const ids = tokenizer.encode(' Two cats.\n### Human: more text');
    const src = scripted(ids);
    const r = await generate({ ...base, source: src, params: resolveParams({ temperature: 0 }) });
    assert.equal(r.finishReason, 'stop');
    assert.equal(r.text, 'Two cats.');
    assert.ok(r.outputTokenIds.length < ids.length, 'stopped as soon as ### appeared');
  });

  test('max_new_tokens gives "length"', async () => {
    const r = await generate({
      ...base,
      source: scripted(tokenizer.encode(' one two three four five')),
      params: resolveParams({ temperature: 0, maxNewTokens: 3 }),
    });
    assert.equal(r.finishReason, 'length');
    assert.equal(r.outputTokenIds.length, 3);
    assert.equal(r.text, 'one two three');
  });

  test('context limit gives "length"', async () => {
    const r = await generate({
      ...base,
      promptPositions: 4090,
      source: scripted(tokenizer.encode(' a b c d e f g h i j')),
      params: resolveParams({ temperature: 0 }),
    });
    assert.equal(r.finishReason, 'length');
    assert.equal(r.outputTokenIds.length, 6);
  });

  test('abort between steps gives "canceled" and stops calling the model', async () => {
    const ac = new AbortController();
    const src = scripted(tokenizer.encode(' a b c d e f g h i j k l m n o p'));
    let n = 0;
    const r = await generate({
      ...base,
      source: src,
      params: resolveParams({ temperature: 0 }),
      signal: ac.signal,
      onText: () => {
        if (++n === 3) ac.abort();
      },
    });
    assert.equal(r.finishReason, 'canceled');
    assert.equal(r.outputTokenIds.length, 3);
    assert.equal(src.calls, 2);
  });

  test('already aborted: no model call at all', async () => {
    const src = scripted([5]);
    const r = await generate({
      ...base,
      source: src,
      params: resolveParams({ temperature: 0 }),
      signal: AbortSignal.abort(),
    });
    assert.equal(r.finishReason, 'canceled');
    assert.deepEqual(r.outputTokenIds, []);
  });

  test('seeded sampling is reproducible; another seed differs', async () => {
    const run = (seed: number) =>
      generate({
        ...base,
        eosIds: [],
        source: noisy(),
        params: resolveParams({ temperature: 0.9, topK: 50, topP: 0.95, maxNewTokens: 12, seed }),
      });
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    assert.deepEqual(a.outputTokenIds, b.outputTokenIds);
    assert.equal(a.seed, 11);
    assert.notDeepEqual(a.outputTokenIds, c.outputTokenIds);
  });

  test('streamed deltas equal the final text', async () => {
    const deltas: string[] = [];
    const r = await generate({
      ...base,
      source: scripted([...tokenizer.encode(' 图片里有一只猫🐱。\n'), 7]),
      params: resolveParams({ temperature: 0 }),
      onText: (d) => deltas.push(d),
    });
    assert.equal(deltas.join(''), r.text);
    assert.equal(r.text, '图片里有一只猫🐱。');
  });
});

describe('resolveParams', () => {
  test("request values over the product defaults, the same as the API's", () => {
    assert.deepEqual(resolveParams({}), {
      maxNewTokens: GENERATION_DEFAULTS.max_new_tokens,
      temperature: GENERATION_DEFAULTS.temperature,
      topK: GENERATION_DEFAULTS.top_k,
      topP: GENERATION_DEFAULTS.top_p,
      repetitionPenalty: GENERATION_DEFAULTS.repetition_penalty,
    });
    assert.deepEqual(GenerationParamsSchema.parse({}), {
      max_new_tokens: 512,
      temperature: 0.2,
      top_p: 0.8,
      top_k: 50,
      repetition_penalty: 1,
    });
    assert.equal(resolveParams({ temperature: 0 }).temperature, 0);
    assert.throws(() => resolveParams({ topP: 0 }), RangeError);
  });
});
