// decoder_loop.onnx: an ONNX Loop whose body is the GQA decoder for one position plus the embedding lookup and the
// choice of the next token (makeNextToken: greedy ArgMax), so one run() decodes up to `max_steps` tokens and stops
// early at an EOS id. Batch 1. The pipeline does not use it (docs/performance.md says why).
import { type Dim, Graph, graphAttr, int } from '../../onnx/graph.ts';
import { llmNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import type { BuiltGraph } from './base.ts';
import { DecoderGraphBuilder } from './decoder.ts';

export class LoopDecoderGraphBuilder extends DecoderGraphBuilder {
  /** The next token [1, 1] from the step's logits [1, 1, V]. */
  protected makeNextToken(body: Graph, logits: string): string {
    return body.op('ArgMax', [logits], { axis: int(-1), keepdims: int(0) });
  }

  /**
   * The Loop body: (iter, cond, token, length, past kv…) → (cond, token, length, present kv…, scan token). The token
   * is not yet in the cache; `length` counts the positions that are.
   */
  protected makeStepGraph(body: Graph): void {
    const { hiddenSize: H, vocabSize: V } = this.llm;
    const token = body.input('step.token_in', 'int64', [1, 1]);
    const length = body.input('step.length_in', 'int64', []);
    const embed = this.ckpt.main.read(llmNames.embed, [V, H]);
    const table = this.weight(body, 'embed_tokens.weight', [V, H], embed, 'float32');
    const embeds = body.op('Gather', [table, token], { axis: int(0) }); // [1, 1, H]
    const seqlensK = this.cast(body, body.op('Reshape', [length, body.constInt64([1])]), 'int32', 'step.seqlens_k');
    const totalLen = this.cast(body, body.op('Add', [length, body.constInt64([1], true)]), 'int32', 'step.total_len');
    const rope = this.makeRopeCaches(body);
    const logits = this.makeDecoderStack(body, embeds, { seqlensK, totalLen, ...rope });
    const next = this.makeNextToken(body, logits);
    const hits = this.cast(body, body.op('Equal', [next, 'eos_ids']), 'int64');
    const isEos = body.op('ReduceMax', [hits], { keepdims: int(0) });
    body.node('Equal', [isEos, body.constInt64([0], true)], {}, { outputs: ['step.cond_out'] });
    body.node('Identity', [next], {}, { outputs: ['step.token_out'] });
    body.node('Identity', [next], {}, { outputs: ['step.token_scan'] });
    body.node('Add', [length, body.constInt64([1], true)], {}, { outputs: ['step.length_out'] });
    // makeAttention declared past_key_values.* / present.* on the body; put the body's I/O in Loop order
    const kvIn = body.inputs.filter((v) => v.name.startsWith('past_key_values.'));
    const kvOut = body.outputs.filter((v) => v.name.startsWith('present.'));
    body.inputs.splice(
      0,
      body.inputs.length,
      { name: 'step.iter', dtype: 'int64', shape: [] },
      { name: 'step.cond_in', dtype: 'bool', shape: [] },
      { name: token, dtype: 'int64', shape: [1, 1] },
      { name: length, dtype: 'int64', shape: [] },
      ...kvIn,
    );
    body.outputs.splice(
      0,
      body.outputs.length,
      { name: 'step.cond_out', dtype: 'bool', shape: [] },
      { name: 'step.token_out', dtype: 'int64', shape: [1, 1] },
      { name: 'step.length_out', dtype: 'int64', shape: [] },
      ...kvOut,
      { name: 'step.token_scan', dtype: 'int64', shape: [1, 1] },
    );
  }

  /**
   * I/O: `input_ids` int64 [1, 1] (the last chosen token, not yet in the cache), `past_length` int64 scalar,
   * `max_steps` int64 scalar, `eos_ids` int64 [E], `loop.past.{i}.key|value` (the shared max-length buffers) →
   * `tokens` int64 [steps, 1, 1], `final_length` int64 scalar, `loop.present.{i}.key|value`.
   */
  override build(outDir: string): BuiltGraph {
    const { numKvHeads, headDim, numLayers } = this.llm;
    return this.writeGraph(outDir, 'decoder_loop', 'yi_vl_decoder_loop', (g, data) => {
      const kvShape: Dim[] = [1, numKvHeads, 'max_length', headDim];
      const ids = g.input('input_ids', 'int64', [1, 1]);
      const pastLength = g.input('past_length', 'int64', []);
      const maxSteps = g.input('max_steps', 'int64', []);
      g.input('eos_ids', 'int64', ['eos_count']);
      const pasts: string[] = [];
      for (let i = 0; i < numLayers; i++) {
        for (const kind of ['key', 'value']) pasts.push(g.input(`loop.past.${i}.${kind}`, this.compute, kvShape));
      }
      const condTrue = g.initializer('loop.cond_true', 'bool', [], new Uint8Array([1]));
      const body = new Graph('yi_vl_decoder_step', data);
      this.makeStepGraph(body);
      const presents = pasts.map((p) => p.replace('loop.past.', 'loop.present.'));
      g.node(
        'Loop',
        [maxSteps, condTrue, ids, pastLength, ...pasts],
        { body: graphAttr(body) },
        { name: 'decode_loop', outputs: ['last_token', 'final_length', ...presents, 'tokens'] },
      );
      g.usesMicrosoftDomain = true;
      g.output('tokens', 'int64', ['steps', 1, 1]);
      g.output('final_length', 'int64', []);
      for (const p of presents) g.output(p, this.compute, kvShape);
    });
  }
}
