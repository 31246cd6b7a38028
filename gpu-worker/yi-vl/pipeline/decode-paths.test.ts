// The engine's two decode paths on the tiny model: the in-graph loop (K tokens per run, choices in the graph) gives
// exactly the answers of the JS step loop — tokens, text, finish reasons, seeds — alone and in a batch whose rows
// differ in parameters, prompt length and budget, with one row ending at EOS and one at the "###" stop string
// inside a loop run. A batch with a row that needs a JS choice at every step (a grammar) takes the step loop.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertCheckpoint } from '../../converter/convert.ts';
import type { EngineInput, EngineResult } from './engine.ts';
import { DEFAULT_LOOP_STEPS, YiVlEngine } from './engine.ts';
import { ModelDirError } from './manifest.ts';
import { freshTinyModel, patchLmHeadRow, reconvert, type TinyModel, testImageRgb } from './testing/tiny-model.ts';

const EOS = 7;
const HASHES = 8308; // "###"
const opts = { device: 'cpu', intraOpNumThreads: 1 } as const;

function value(r: PromiseSettledResult<EngineResult> | undefined): EngineResult {
  assert.equal(r?.status, 'fulfilled');
  return (r as PromiseFulfilledResult<EngineResult>).value;
}

describe('decode paths: in-graph loop = JS step loop (tiny model, CPU EP)', () => {
  let m: TinyModel;
  let loop: YiVlEngine;
  let step: YiVlEngine;
  const ask = (seed: number, question: string, params: EngineInput['params']): EngineInput => ({
    rgb: testImageRgb(seed),
    question,
    params,
  });
  const eosRow = ask(1, 'What is in the image?', { temperature: 0, maxNewTokens: 30 });
  const stopRow = ask(2, 'Describe the colours in detail, please.', { temperature: 0, maxNewTokens: 30 });

  before(async () => {
    m = await freshTinyModel(21);
    // make greedy answers end inside the first loop runs: one at EOS, one at "###"
    const plain = await YiVlEngine.load(m.modelDir, { ...opts, decode: 'step' });
    const a = (await plain.analyze(eosRow)).output_token_ids;
    const b = (await plain.analyze(stopRow)).output_token_ids;
    await plain.close();
    // (past the tokens both answers start with; the ends fall inside a 4-token run)
    patchLmHeadRow(m.checkpointDir, a[6]!, EOS, 1.1);
    patchLmHeadRow(m.checkpointDir, b[9]!, HASHES, 1.1);
    await reconvert(m);
    loop = await YiVlEngine.load(m.modelDir, { ...opts, decode: 'loop', loopSteps: 4 });
    step = await YiVlEngine.load(m.modelDir, { ...opts, decode: 'step' });
  });
  after(async () => {
    await loop?.close();
    await step?.close();
  });

  const requests = (): EngineInput[] => [
    eosRow,
    stopRow,
    ask(3, 'Any text?', { temperature: 0.2, topK: 50, topP: 0.8, seed: 11, maxNewTokens: 12 }),
    ask(4, 'Count the objects, one by one.', {
      temperature: 1.1,
      topK: 0,
      topP: 0.9,
      repetitionPenalty: 1.3,
      seed: 12,
      maxNewTokens: 16,
    }),
    ask(5, 'Where?', { temperature: 0.8, topK: 40, topP: 1, seed: 13, maxNewTokens: 10 }),
  ];

  const same = (got: EngineResult, want: EngineResult, what: string) => {
    assert.deepEqual(got.output_token_ids, want.output_token_ids, `${what}: tokens`);
    assert.equal(got.finish_reason, want.finish_reason, `${what}: finish reason`);
    assert.equal(got.text, want.text, `${what}: text`);
    assert.equal(got.seed, want.seed, `${what}: seed`);
  };

  test('start-up: the loop where asked, with its K; the step engine says step', () => {
    assert.equal(loop.startup.decode, 'loop');
    assert.equal(loop.startup.loopSteps, 4);
    assert.equal(step.startup.decode, 'step');
    assert.equal(step.startup.loopSteps, null);
  });

  test('auto: the loop on the CPU EP; a folder converted without it decodes with the step and says why', async () => {
    const auto = await YiVlEngine.load(m.modelDir, opts);
    assert.equal(auto.startup.decode, 'loop');
    assert.equal(auto.startup.loopSteps, DEFAULT_LOOP_STEPS);
    await auto.close();
    const root = mkdtempSync(join(tmpdir(), 'yi-vl-no-loop-'));
    const dir = join(root, 'onnx');
    await convertCheckpoint({ checkpoint: m.checkpointDir, out: dir, dtype: 'fp32', decoderLoop: false });
    const old = await YiVlEngine.load(dir, opts);
    assert.equal(old.startup.decode, 'step');
    assert.ok(old.startup.warnings.some((w) => w.includes('decoder_loop.onnx')));
    same(await old.analyze(requests()[2]!), await step.analyze(requests()[2]!), 'step engine on the old folder');
    await old.close();
    await assert.rejects(YiVlEngine.load(dir, { ...opts, decode: 'loop' }), ModelDirError);
    rmSync(root, { recursive: true, force: true });
  });

  test('single answers (greedy ending at EOS and at "###", seeded sampling) equal the step loop', async () => {
    for (const [i, input] of requests().entries())
      same(await loop.analyze(input), await step.analyze(input), `request ${i}`);
  });

  test('a batch of rows with different parameters and lengths; one ends at EOS, one at "###" inside a run', async () => {
    const before = loop.loopStats;
    const want = (await step.analyzeBatch(requests().map((input) => ({ input })))).map(value);
    const got = (await loop.analyzeBatch(requests().map((input) => ({ input })))).map(value);
    got.forEach((g, i) => {
      same(g, want[i]!, `row ${i}`);
    });
    const after = loop.loopStats;
    assert.ok(after.runs > before.runs, 'the loop decoded');
    // no row made a token past its end: EOS and "###" stop a row inside the graph, budgets end it at max_new_tokens
    const kept = got.reduce((n, r) => n + r.completion_tokens - 1, 0); // the first token comes from the prefill
    assert.equal(after.tokens - before.tokens, kept);
    // row 0 ended at EOS and row 1 at the stop string, neither on a run boundary (K = 4, first token from prefill)
    assert.equal(got[0]!.output_token_ids.at(-1), EOS);
    assert.equal(got[0]!.finish_reason, 'stop');
    assert.equal(got[1]!.output_token_ids.at(-1), HASHES);
    assert.equal(got[1]!.finish_reason, 'stop');
    assert.ok(!got[1]!.text.includes('#'));
    for (const r of got.slice(0, 2)) assert.notEqual((r.completion_tokens - 1) % 4, 0, 'ended inside a run');
    // the sampling rows ran to their own max_new_tokens across several runs
    assert.deepEqual(
      got.slice(2).map((r) => [r.finish_reason, r.completion_tokens]),
      want.slice(2).map((r) => [r.finish_reason, r.completion_tokens]),
    );
  });

  test('continuous batching: a request admitted between loop runs answers as alone', async () => {
    const late = ask(6, 'And the shapes?', { temperature: 0.9, topK: 30, topP: 0.95, seed: 21, maxNewTokens: 11 });
    const alone = await step.analyze(late);
    let admitted = false;
    const rs = await loop.analyzeBatch([{ input: requests()[3]! }], {
      admit: () => {
        if (admitted) return [];
        admitted = true;
        return [{ input: late }];
      },
    });
    same(value(rs[1]), alone, 'admitted row');
    same(value(rs[0]), await step.analyze(requests()[3]!), 'running row');
  });

  test('a batch with a grammar-constrained row takes the step loop; its free row answers as alone', async () => {
    const constrained: EngineInput = {
      ...ask(7, 'Answer as JSON.', { temperature: 0, maxNewTokens: 12 }),
      responseFormat: { type: 'json_object' },
    };
    const free = requests()[2]!;
    const steps = loop.decoderStepStats.calls;
    const [c, f] = (await loop.analyzeBatch([{ input: constrained }, { input: free }])).map(value);
    // every token of the constrained row after the first (from the prefill) came from a one-token step
    assert.ok(loop.decoderStepStats.calls - steps >= c!.completion_tokens - 1);
    assert.ok(c!.completion_tokens > 1);
    // the free row made the choices it makes alone, on either path
    same(f!, await step.analyze(free), 'free row');
    const runs = loop.loopStats.runs;
    same(await loop.analyze(free), await step.analyze(free), 'free row alone');
    assert.ok(loop.loopStats.runs > runs, 'alone, the free row takes the loop');
  });
});
