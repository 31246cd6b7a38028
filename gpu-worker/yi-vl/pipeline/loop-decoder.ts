// Driver of the experimental in-graph decode loop (decoder_loop.onnx): greedy, batch 1, up to K tokens per run()
// over the same shared KV buffers as the step decoder. Used by the benchmark and its equality test; the engine
// keeps the JS step loop (docs/performance.md).
import ort from 'onnxruntime-node';
import type { KvCache } from './kv-cache.ts';

export class LoopDecoder {
  constructor(private readonly session: ort.InferenceSession) {}

  static async open(path: string, options: ort.InferenceSession.SessionOptions = {}): Promise<LoopDecoder> {
    return new LoopDecoder(await ort.InferenceSession.create(path, options));
  }

  /**
   * Feeds `lastId` (chosen, not yet cached) at position `length` and decodes greedily until `steps` tokens or an
   * EOS id. Returns the new tokens (the EOS included); the cache then holds `length + tokens.length` positions.
   */
  async run(
    cache: KvCache,
    lastId: number,
    length: number,
    steps: number,
    eosIds: readonly number[],
  ): Promise<number[]> {
    const { feeds, fetches } = cache.bindings();
    const loopFeeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(lastId)]), [1, 1]),
      past_length: new ort.Tensor('int64', BigInt64Array.from([BigInt(length)]), []),
      max_steps: new ort.Tensor('int64', BigInt64Array.from([BigInt(steps)]), []),
      eos_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(eosIds, (e) => BigInt(e)),
        [eosIds.length],
      ),
    };
    const loopFetches: Record<string, ort.Tensor | null> = { tokens: null };
    for (const [name, t] of Object.entries(feeds)) loopFeeds[name.replace('past_key_values.', 'loop.past.')] = t;
    for (const [name, t] of Object.entries(fetches)) loopFetches[name.replace('present.', 'loop.present.')] = t;
    const out = await this.session.run(loopFeeds, loopFetches);
    return Array.from(out.tokens!.data as BigInt64Array, Number);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
