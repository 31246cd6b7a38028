// decoder_loop.onnx: an ONNX Loop whose body is the GQA decoder for one position per row, the embedding lookup and
// the next-token choice (makeNextToken: the logits processors and sampler of next-token.ts), so one run() decodes
// up to `max_steps` tokens for every row of a batch. Each row stops after one of the stop ids (EOS, or a token the
// caller must look at first) or after its own budget of tokens, and the Loop ends when every row has stopped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Dim, Graph, graphAttr, int, ints } from '../../onnx/graph.ts';
import { llmNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import type { BuiltGraph } from './base.ts';
import { DecoderGraphBuilder } from './decoder.ts';
import { NextTokenBuilder, type SamplingRun } from './next-token.ts';

const ROWS: Dim = 'batch';

export class LoopDecoderGraphBuilder extends DecoderGraphBuilder {
  private readonly nextToken = new NextTokenBuilder();

  /**
   * The next token of each row, int64 [R], from the step's logits [R, 1, V]: repetition penalty over `seen`, then
   * greedy ArgMax or temperature → top-k → top-p → a draw with the row's uniform `u` (float64 [R]).
   */
  protected makeNextToken(body: Graph, logits: string, seen: string, u: string, run: SamplingRun): string {
    const rows = body.op('Squeeze', [logits, body.constInt64([1])]);
    return this.nextToken.makeNextToken(body, rows, seen, u, run);
  }

  /** bool [R]: row's `next` (int64 [R]) is one of `stop_ids`. */
  protected makeStopCheck(body: Graph, next: string): string {
    const hits = body.op('Equal', [body.op('Unsqueeze', [next, body.constInt64([1])]), 'stop_ids']); // [R, E]
    const any = body.op('ReduceMax', [this.cast(body, hits, 'int64')], { axes: ints([1]), keepdims: int(0) });
    return this.cast(body, any, 'bool');
  }

  /**
   * The Loop body: (iter, cond, token, length, active, seen, past kv…) → (cond, token, length, active, seen,
   * present kv…, scan token). `token` [R, 1] is each row's last choice, not yet in the cache; `length` [R] counts
   * the positions that are; `active` [R] says whether the row makes a token in this iteration.
   */
  protected makeStepGraph(body: Graph, run: SamplingRun): void {
    const { hiddenSize: H, vocabSize: V } = this.llm;
    const iter = body.input('step.iter', 'int64', []);
    const token = body.input('step.token_in', 'int64', [ROWS, 1]);
    const length = body.input('step.length_in', 'int64', [ROWS]);
    const active = body.input('step.active_in', 'bool', [ROWS]);
    const seen = body.input('step.seen_in', 'int64', [ROWS, 'seen']);
    // the table as embed_tokens.onnx stores it (float16 unless fp32), so its bytes are shared with that graph
    const embed = this.ckpt.main.read(llmNames.embed, [V, H]);
    const tableDtype = this.opts.dtype === 'fp32' ? 'float32' : 'float16';
    const table = this.weight(body, 'embed_tokens.weight', [V, H], embed, tableDtype);
    let embeds = body.op('Gather', [table, token], { axis: int(0) }); // [R, 1, H]
    if (tableDtype !== 'float32') embeds = this.cast(body, embeds, 'float32');
    // A row that has stopped still goes through the decoder: it feeds its last token again at its next free
    // position (what the next run writes there first anyway), kept inside the buffer.
    const position = body.op('Min', [length, 'loop.last_slot']);
    const seqlensK = this.cast(body, position, 'int32', 'step.seqlens_k');
    const longest = body.op('ReduceMax', [position], { keepdims: int(0) });
    const totalLen = this.cast(body, body.op('Add', [longest, body.constInt64([1], true)]), 'int32', 'step.total_len');
    const rope = this.makeRopeCaches(body);
    const logits = this.makeDecoderStack(body, embeds, { seqlensK, totalLen, ...rope });
    const u = body.op('Gather', ['uniforms', iter], { axis: int(1) }); // [R]
    const next = this.makeNextToken(body, logits, seen, u, run);
    const made = body.op('Add', [iter, body.constInt64([1], true)]);
    const goesOn = body.op('And', [
      active,
      body.op('And', [body.op('Not', [this.makeStopCheck(body, next)]), body.op('Less', [made, 'budgets'])]),
    ]);
    const anyGoesOn = body.op('ReduceMax', [this.cast(body, goesOn, 'int64')], { keepdims: int(0) });
    this.cast(body, anyGoesOn, 'bool', 'step.cond_out');
    const activeCol = body.op('Unsqueeze', [active, body.constInt64([1])]);
    const nextCol = body.op('Unsqueeze', [next, body.constInt64([1])]);
    body.node('Where', [activeCol, nextCol, token], {}, { outputs: ['step.token_out'] });
    body.node('Add', [length, this.cast(body, active, 'int64')], {}, { outputs: ['step.length_out'] });
    body.node('Identity', [goesOn], {}, { outputs: ['step.active_out'] });
    const at = body.op('Add', ['seen_free', iter]);
    body.node('Identity', [this.nextToken.makeSeenUpdate(body, seen, next, at)], {}, { outputs: ['step.seen_out'] });
    body.node('Where', [active, next, body.constInt64([-1], true)], {}, { outputs: ['step.token_scan'] });
    // makeAttention declared past_key_values.* / present.* on the body; put the body's I/O in Loop order
    const kvIn = body.inputs.filter((v) => v.name.startsWith('past_key_values.'));
    const kvOut = body.outputs.filter((v) => v.name.startsWith('present.'));
    body.inputs.splice(
      0,
      body.inputs.length,
      { name: iter, dtype: 'int64', shape: [] },
      { name: 'step.cond_in', dtype: 'bool', shape: [] },
      { name: token, dtype: 'int64', shape: [ROWS, 1] },
      { name: length, dtype: 'int64', shape: [ROWS] },
      { name: active, dtype: 'bool', shape: [ROWS] },
      { name: seen, dtype: 'int64', shape: [ROWS, 'seen'] },
      ...kvIn,
    );
    body.outputs.splice(
      0,
      body.outputs.length,
      { name: 'step.cond_out', dtype: 'bool', shape: [] },
      { name: 'step.token_out', dtype: 'int64', shape: [ROWS, 1] },
      { name: 'step.length_out', dtype: 'int64', shape: [ROWS] },
      { name: 'step.active_out', dtype: 'bool', shape: [ROWS] },
      { name: 'step.seen_out', dtype: 'int64', shape: [ROWS, 'seen'] },
      ...kvOut,
      { name: 'step.token_scan', dtype: 'int64', shape: [ROWS] },
    );
  }

  /**
   * I/O (docs/model-format.md): `input_ids` int64 [R, 1] (each row's last chosen token, not yet in the cache),
   * `past_length` int64 [R], `max_steps` int64 scalar, `budgets` int64 [R] (most tokens per row in this run),
   * `stop_ids` int64 [E] (a row stops after one of these: EOS ids, and ids the caller wants to look at before the
   * row goes on, such as those that may complete a stop string), `temperature` / `top_p` / `repetition_penalty` float64 [R], `top_k` int64 [R],
   * `uniforms` float64 [R, max_steps] (row r's draw for its i-th token at [r, i]), `seen_ids` int64 [R, S] (ids the
   * repetition penalty applies to, repeats allowed; the run writes its i-th token at column `seen_free` + i, so the
   * last max_steps columns are room), `vocab_size` int64 scalar (the tokenizer's: ids ≥ it are never chosen),
   * `loop.past.{i}.key|value` (the shared max-length buffers) →
   * `tokens` int64 [steps, R] (−1 once a row has stopped), `loop.present.{i}.key|value`.
   */
  override build(outDir: string): BuiltGraph {
    const { numKvHeads, headDim, numLayers } = this.llm;
    return this.writeGraph(outDir, 'decoder_loop', 'yi_vl_decoder_loop', (g, data) => {
      // the weights decoder.onnx and embed_tokens.onnx already store are referenced, not copied
      for (const f of ['decoder.onnx', 'embed_tokens.onnx'])
        if (existsSync(join(outDir, f))) data.share(join(outDir, f));
      const kvShape: Dim[] = [ROWS, numKvHeads, 'max_length', headDim];
      const ids = g.input('input_ids', 'int64', [ROWS, 1]);
      const pastLength = g.input('past_length', 'int64', [ROWS]);
      const maxSteps = g.input('max_steps', 'int64', []);
      const budgets = g.input('budgets', 'int64', [ROWS]);
      g.input('stop_ids', 'int64', ['stop_count']);
      g.input('uniforms', 'float64', [ROWS, 'max_steps']);
      const seen = g.input('seen_ids', 'int64', [ROWS, 'seen']);
      g.input('seen_free', 'int64', []);
      const vocab = g.op('Reshape', [g.input('vocab_size', 'int64', []), g.constInt64([1])]);
      const run = this.nextToken.makeSamplingRun(g, vocab);
      const pasts: string[] = [];
      for (let i = 0; i < numLayers; i++) {
        for (const kind of ['key', 'value']) pasts.push(g.input(`loop.past.${i}.${kind}`, this.compute, kvShape));
      }
      const slots = g.op('Gather', [g.op('Shape', [pasts[0]!]), g.constInt64([2], true)], { axis: int(0) });
      g.node('Sub', [slots, g.constInt64([1], true)], {}, { outputs: ['loop.last_slot'] });
      const active = g.op('Greater', [budgets, g.constInt64([0], true)]);
      const start = this.cast(g, g.op('ReduceMax', [this.cast(g, active, 'int64')], { keepdims: int(0) }), 'bool');
      const body = new Graph('yi_vl_decoder_step', data, 'step.');
      this.makeStepGraph(body, run);
      const presents = pasts.map((p) => p.replace('loop.past.', 'loop.present.'));
      g.node(
        'Loop',
        [maxSteps, start, ids, pastLength, active, seen, ...pasts],
        { body: graphAttr(body) },
        {
          name: 'decode_loop',
          outputs: [
            'loop.last_token',
            'loop.final_length',
            'loop.final_active',
            'loop.final_seen',
            ...presents,
            'tokens',
          ],
        },
      );
      g.usesMicrosoftDomain = true;
      g.output('tokens', 'int64', ['steps', ROWS]);
      for (const p of presents) g.output(p, this.compute, kvShape);
    });
  }
}
