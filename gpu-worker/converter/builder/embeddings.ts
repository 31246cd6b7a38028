// embed_tokens.onnx: the LLM's token embedding table as one Gather; the table is float32 in fp32 builds and float16
// in fp16 and int4 builds. The pipeline also reads its rows straight from the external data file
// (yi-vl/pipeline/embedding-table.ts).
import { int } from '../../onnx/graph.ts';
import { llmNames } from '../../yi-vl/checkpoint/checkpoint.ts';
import { type BuiltGraph, type ComputeDtype, GraphBuilder } from './base.ts';

export class EmbeddingsGraphBuilder extends GraphBuilder {
  /** `input_ids` int64 [batch, sequence_length] → `inputs_embeds` float32 [batch, sequence_length, hidden]. */
  build(outDir: string): BuiltGraph {
    const { vocabSize: V, hiddenSize: H } = this.ckpt.config.llm;
    return this.writeGraph(outDir, 'embed_tokens', 'yi_vl_embed_tokens', (g) => {
      this.progress('embed_tokens');
      const ids = g.input('input_ids', 'int64', ['batch', 'sequence_length']);
      const dt: ComputeDtype = this.opts.dtype === 'fp32' ? 'float32' : 'float16';
      const table = this.weight(g, 'embed_tokens.weight', [V, H], this.ckpt.main.read(llmNames.embed, [V, H]), dt);
      let y = g.op('Gather', [table, ids], { axis: int(0) });
      if (dt !== 'float32') y = this.cast(g, y, 'float32');
      g.node('Identity', [y], {}, { outputs: ['inputs_embeds'] });
      g.output('inputs_embeds', 'float32', ['batch', 'sequence_length', H]);
    });
  }
}
