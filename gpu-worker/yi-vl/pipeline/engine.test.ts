import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PromptTooLongError, YiVlEngine } from './engine.ts';
import { testImageRgb, tinyModel } from './testing/tiny-model.ts';

let engine: YiVlEngine;
const rgb = testImageRgb(1);
const question = 'What is in the image?';

before(async () => {
  const m = await tinyModel();
  engine = await YiVlEngine.load(m.modelDir, { device: 'cpu', intraOpNumThreads: 1 });
});
after(() => engine?.close());

describe('YiVlEngine on a tiny converted checkpoint (CPU EP)', () => {
  test('start-up report: CPU provider, known tokenizer, eos from generation_config', () => {
    assert.equal(engine.startup.provider, 'cpu');
    assert.equal(engine.startup.cpuFallback, false);
    assert.equal(engine.startup.knownTokenizer, true);
    assert.deepEqual(engine.startup.eosIds, [7]);
  });

  test('seeded sampling is reproducible across runs; another seed differs', async () => {
    const params = { temperature: 1, topK: 50, topP: 0.95, maxNewTokens: 8 };
    const a = await engine.analyze({ rgb, question, params: { ...params, seed: 7 } });
    const b = await engine.analyze({ rgb, question, params: { ...params, seed: 7 } });
    const c = await engine.analyze({ rgb, question, params: { ...params, seed: 8 } });
    assert.deepEqual(a.output_token_ids, b.output_token_ids);
    assert.equal(a.seed, 7);
    assert.notDeepEqual(a.output_token_ids, c.output_token_ids);
  });

  test('max_new_tokens ends with "length"', async () => {
    const r = await engine.analyze({ rgb, question, params: { temperature: 0, maxNewTokens: 3 } });
    assert.equal(r.finish_reason, 'length');
    assert.equal(r.completion_tokens, 3);
  });

  test('abort during decode ends with "canceled" between steps', async () => {
    const ac = new AbortController();
    let deltas = 0;
    const r = await engine.analyze(
      { rgb, question, params: { temperature: 0, maxNewTokens: 50 } },
      {
        signal: ac.signal,
        onText: () => {
          if (++deltas === 2) ac.abort();
        },
      },
    );
    assert.equal(r.finish_reason, 'canceled');
    assert.ok(r.completion_tokens < 50);
  });

  test('a prompt longer than the context is refused before any model call', async () => {
    const history = [{ question: 'q', answer: 'word '.repeat(1200) }];
    await assert.rejects(engine.analyze({ rgb, question, history }), PromptTooLongError);
  });

  test('an EOS id from generation_config.json ends with "stop" (EOS counted, not in the text)', async () => {
    const greedy = await engine.analyze({ rgb, question, params: { temperature: 0, maxNewTokens: 6 } });
    const eos = greedy.output_token_ids[2]!;
    const stopAt = greedy.output_token_ids.indexOf(eos);
    // Same graphs, a generation_config.json whose eos is the third greedy token.
    const dir = mkdtempSync(join(tmpdir(), 'yi-vl-eos-'));
    for (const f of readdirSync(engine.dir))
      if (f !== 'generation_config.json') symlinkSync(join(engine.dir, f), join(dir, f));
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [eos, 2], do_sample: false }));
    const e2 = await YiVlEngine.load(dir, { device: 'cpu', intraOpNumThreads: 1 });
    try {
      assert.deepEqual(e2.startup.eosIds, [eos, 2]);
      const r = await e2.analyze({ rgb, question, params: { temperature: 0, maxNewTokens: 6 } });
      assert.equal(r.finish_reason, 'stop');
      assert.deepEqual(r.output_token_ids, greedy.output_token_ids.slice(0, stopAt + 1));
      assert.equal(r.text, e2.tokenizer.decode(greedy.output_token_ids.slice(0, stopAt)).trim());
    } finally {
      await e2.close();
    }
  });
});
