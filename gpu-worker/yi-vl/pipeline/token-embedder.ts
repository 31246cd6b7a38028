// Token embeddings: the embed_tokens session for prompts; for decode steps, rows read straight from the weights
// file (EmbeddingTable) when the converted graph allows it, saving one session.run() per step.
import ort from '../../onnx/runtime.ts';
import type { EmbeddingTable } from './embedding-table.ts';

export class TokenEmbedder {
  constructor(
    private readonly session: ort.InferenceSession,
    /** null: every embedding comes from the session */
    private readonly table: EmbeddingTable | null,
  ) {}

  /** Token embeddings of `ids` laid out as [batch, ids.length / batch], from the embed_tokens session. */
  async run(ids: readonly number[], batch = 1): Promise<Float32Array> {
    const out = await this.session.run({
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (id) => BigInt(id)),
        [batch, ids.length / batch],
      ),
    });
    return out.inputs_embeds!.data as Float32Array;
  }

  /** Embeddings of one token per batch row, [ids.length · hidden]. */
  async step(ids: readonly number[]): Promise<Float32Array> {
    return this.table ? this.table.rows(ids) : this.run(ids, ids.length);
  }

  close(): void {
    this.table?.close();
  }
}
