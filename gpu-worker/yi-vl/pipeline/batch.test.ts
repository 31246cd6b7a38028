import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_LOOP_STEPS, type EngineResult, YiVlEngine } from './engine.ts';
import { testImageRgb, tinyModel } from './testing/tiny-model.ts';

// The optimised paths (batched vision, batched decode, system-prompt KV reuse, image-feature cache) against the
// plain path: an engine without the prefix cache, one request at a time, each on a fresh image cache.
let fast: YiVlEngine;
let plain: YiVlEngine;
const opts = { device: 'cpu', intraOpNumThreads: 1 } as const;

before(async () => {
  const m = await tinyModel();
  fast = await YiVlEngine.load(m.modelDir, { ...opts, visionBatch: 3 });
  plain = await YiVlEngine.load(m.modelDir, { ...opts, prefixCache: false, imageCacheSize: 0 });
});
after(async () => {
  await fast?.close();
  await plain?.close();
});

const requests = [
  { rgb: testImageRgb(1), question: 'What is in the image?', params: { temperature: 0, maxNewTokens: 12 } },
  {
    rgb: testImageRgb(2),
    question: 'Describe the colours in detail, please.',
    params: { temperature: 0, maxNewTokens: 5 },
  },
  { rgb: testImageRgb(1), question: 'Count the objects.', params: { temperature: 0, maxNewTokens: 9 } },
  {
    rgb: testImageRgb(3),
    question: 'Any text?',
    history: [{ question: 'Hi', answer: 'Hello there.' }],
    params: { temperature: 0.9, topK: 20, topP: 0.9, seed: 11, maxNewTokens: 10 },
  },
];

function value(r: PromiseSettledResult<EngineResult> | undefined): EngineResult {
  assert.equal(r?.status, 'fulfilled');
  return (r as PromiseFulfilledResult<EngineResult>).value;
}

describe('fast paths give the same tokens as the plain path (tiny model, CPU EP)', () => {
  test('system-prompt KV reuse: same greedy tokens and prefill logits as a full prefill', async () => {
    const a = await fast.analyze({ ...requests[0]!, returnPrefillLogits: true });
    const b = await plain.analyze({ ...requests[0]!, returnPrefillLogits: true });
    assert.equal(a.prefix_cache_hit, true);
    assert.equal(b.prefix_cache_hit, false);
    assert.deepEqual(a.output_token_ids, b.output_token_ids);
    let maxDiff = 0;
    for (let i = 0; i < b.prefill_logits!.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(a.prefill_logits![i]! - b.prefill_logits![i]!));
    assert.ok(maxDiff < 1e-4, `prefill logits differ by ${maxDiff}`);
  });

  test('batched decode (rows of different lengths, greedy and seeded sampling) equals one by one', async () => {
    const single: EngineResult[] = [];
    for (const r of requests) single.push(await plain.analyze(r));
    const batch = await fast.analyzeBatch(requests.map((input) => ({ input })));
    batch.forEach((r, i) => {
      const v = value(r);
      assert.deepEqual(v.output_token_ids, single[i]!.output_token_ids, `row ${i}`);
      assert.equal(v.finish_reason, single[i]!.finish_reason);
      assert.equal(v.text, single[i]!.text);
    });
    assert.equal(value(batch[3]).seed, 11);
    // each row stops on its own budget
    assert.deepEqual(
      batch.map((r) => value(r).completion_tokens),
      [12, 5, 9, 10],
    );
  });

  test('continuous batching: a request admitted mid-decode (longer prompt ⇒ KV grows) answers as alone and settles first', async () => {
    // longer than one in-graph loop run (DEFAULT_LOOP_STEPS tokens), so it is still decoding at the second ask
    const long = { ...requests[0]!, params: { temperature: 0, maxNewTokens: 2 * DEFAULT_LOOP_STEPS + 8 } };
    const late = {
      ...requests[1]!,
      history: [{ question: 'First?', answer: 'A rather long earlier answer about the picture.' }],
      params: { temperature: 0, maxNewTokens: 4 },
    };
    const wantLong = await plain.analyze(long);
    const wantLate = await plain.analyze(late);
    let asks = 0;
    const order: number[] = [];
    const results = await fast.analyzeBatch([{ input: long }], {
      admit: () => (++asks === 2 ? [{ input: late }] : []), // asked before each decode run
      onSettled: (index) => order.push(index),
    });
    assert.equal(results.length, 2);
    assert.deepEqual(value(results[0]).output_token_ids, wantLong.output_token_ids);
    assert.deepEqual(value(results[1]).output_token_ids, wantLate.output_token_ids);
    assert.equal(value(results[1]).batch_size, 2);
    assert.deepEqual(order, [1, 0]);
  });

  test('image-feature cache: a follow-up on the same image skips the vision tower with the same answer', async () => {
    const rgb = testImageRgb(9);
    const first = await fast.analyze({ rgb, question: 'What is it?', params: { temperature: 0, maxNewTokens: 6 } });
    const again = await fast.analyze({ rgb, question: 'What is it?', params: { temperature: 0, maxNewTokens: 6 } });
    assert.equal(first.image_cache_hit, false);
    assert.equal(again.image_cache_hit, true);
    assert.equal(again.timings.vision_ms, 0);
    assert.deepEqual(again.output_token_ids, first.output_token_ids);
  });

  test('canceling one row mid-batch leaves the others untouched; a bad prompt fails only its own item', async () => {
    const ac = new AbortController();
    let deltas = 0;
    const items = [
      { input: requests[0]! },
      {
        input: { ...requests[1]!, params: { temperature: 0, maxNewTokens: 40 } },
        run: {
          signal: ac.signal,
          onText: () => {
            if (++deltas === 2) ac.abort();
          },
        },
      },
      { input: { ...requests[2]!, history: [{ question: 'q', answer: 'word '.repeat(1200) }] } },
    ];
    const [a, b, c] = await fast.analyzeBatch(items);
    assert.deepEqual(value(a).output_token_ids, (await plain.analyze(requests[0]!)).output_token_ids);
    assert.equal(value(b).finish_reason, 'canceled');
    assert.ok(value(b).completion_tokens < 40);
    assert.equal(c?.status, 'rejected');
  });
});

describe('EmbeddingTable', () => {
  test('rows read from the external data equal the embed_tokens session output', async () => {
    const { EmbeddingTable } = await import('./embedding-table.ts');
    const { runEmbed } = await import('../../converter/testing.ts');
    const { modelDir } = await tinyModel();
    const m = fast.manifest.dims.llm;
    const table = EmbeddingTable.open(modelDir, 'embed_tokens.onnx', m.vocabSize, m.hiddenSize);
    assert.ok(table);
    try {
      const ids = [0, 7, 1234, 63999];
      assert.deepEqual(table.rows(ids), await runEmbed(modelDir, ids));
      assert.throws(() => table.rows([64000]), RangeError);
    } finally {
      table.close();
    }
  });
});
