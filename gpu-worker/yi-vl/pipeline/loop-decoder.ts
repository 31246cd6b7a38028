// Driver of the in-graph decode loop (decoder_loop.onnx): up to K tokens per row per run() over the batch's shared
// KV buffers, each row with its own sampling parameters, uniforms, repetition-penalty ids and budget; a row stops
// after a stop id. The graph's choices equal the JS sampler's for the same uniforms (converter/builder/next-token.ts).
import ort from '../../onnx/runtime.ts';
import type { SamplingParams } from '../generation/logits-processors.ts';
import type { KvCache } from './kv-cache.ts';

/** One row of a Loop run. */
export interface LoopRow extends SamplingParams {
  /** the row's last chosen token, not yet in the KV */
  lastId: number;
  /** positions in the row's KV */
  length: number;
  /** most tokens the row may make in this run (1 … steps) */
  budget: number;
  /** the uniforms of the row's next `budget` draws (sampling rows: temperature > 0) */
  uniforms?: Float64Array;
  /** ids the repetition penalty applies to (prompt text and generated ids); read when the penalty is not 1 */
  seen?: readonly number[];
}

export class LoopDecoder {
  /** cumulative runs, the tokens they made and the milliseconds spent inside their session.run (for the bench) */
  readonly stats = { runs: 0, tokens: 0, ms: 0 };

  constructor(
    private readonly session: ort.InferenceSession,
    /** ids the choice is made over (the tokenizer's; the model's logits may be padded beyond it) */
    readonly vocab: number,
    /** a row stops after one of these (EOS ids, and ids its caller must see before it goes on) */
    readonly stopIds: readonly number[],
  ) {}

  static async open(
    path: string,
    vocab: number,
    stopIds: readonly number[],
    options: ort.InferenceSession.SessionOptions = {},
  ): Promise<LoopDecoder> {
    return new LoopDecoder(await ort.InferenceSession.create(path, options), vocab, stopIds);
  }

  /**
   * Decodes up to `steps` tokens for every row of `cache` (row b is `rows[b]`): row b stops after its budget, or
   * at a stop id (included). Returns each row's new tokens; its KV then holds `length + tokens.length` positions.
   */
  async run(cache: KvCache, rows: readonly LoopRow[], steps: number): Promise<number[][]> {
    const R = rows.length;
    const V = this.vocab;
    if (R !== cache.batch) throw new Error(`${R} rows for a KV batch of ${cache.batch}`);
    if (cache.onDevice) throw new Error('the in-graph loop needs the KV cache on the host');
    const uniforms = new Float64Array(R * steps);
    // each row's seen ids (penalty rows only), then room for the run's tokens; repeats of an id change nothing
    const lists = rows.map((r) => (r.repetitionPenalty !== 1 ? (r.seen ?? []).filter((id) => id >= 0 && id < V) : []));
    const free = Math.max(...lists.map((l) => l.length));
    const seen = new BigInt64Array(R * (free + steps));
    rows.forEach((r, b) => {
      seen.fill(BigInt(r.lastId), b * (free + steps), (b + 1) * (free + steps));
      lists[b]!.forEach((id, i) => {
        seen[b * (free + steps) + i] = BigInt(id);
      });
      if (!(r.budget >= 1 && r.budget <= steps)) throw new Error(`row ${b}: budget ${r.budget} outside 1…${steps}`);
      if (r.length + r.budget > cache.maxLength) {
        throw new Error(`row ${b}: ${r.length + r.budget} positions exceed the KV buffer of ${cache.maxLength}`);
      }
      if (r.temperature > 0) {
        if (!r.uniforms || r.uniforms.length < r.budget) throw new Error(`row ${b}: ${r.budget} uniforms needed`);
        uniforms.set(r.uniforms.subarray(0, r.budget), b * steps);
      }
    });
    const i64 = (values: readonly number[], dims: number[]) =>
      new ort.Tensor(
        'int64',
        BigInt64Array.from(values, (v) => BigInt(v)),
        dims,
      );
    const f64 = (values: readonly number[]) => new ort.Tensor('float64', Float64Array.from(values), [R]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(
        rows.map((r) => r.lastId),
        [R, 1],
      ),
      past_length: i64(
        rows.map((r) => r.length),
        [R],
      ),
      max_steps: i64([steps], []),
      budgets: i64(
        rows.map((r) => r.budget),
        [R],
      ),
      stop_ids: i64(this.stopIds, [this.stopIds.length]),
      temperature: f64(rows.map((r) => r.temperature)),
      top_k: i64(
        rows.map((r) => r.topK),
        [R],
      ),
      top_p: f64(rows.map((r) => r.topP)),
      repetition_penalty: f64(rows.map((r) => r.repetitionPenalty)),
      uniforms: new ort.Tensor('float64', uniforms, [R, steps]),
      seen_ids: new ort.Tensor('int64', seen, [R, free + steps]),
      seen_free: i64([free], []),
      vocab_size: i64([V], []),
    };
    const fetches: Record<string, ort.Tensor | null> = { tokens: null };
    const kv = cache.bindings();
    for (const [name, t] of Object.entries(kv.feeds)) feeds[name.replace('past_key_values.', 'loop.past.')] = t;
    for (const [name, t] of Object.entries(kv.fetches)) fetches[name.replace('present.', 'loop.present.')] = t;
    const t0 = performance.now();
    const out = await this.session.run(feeds, fetches);
    this.stats.ms += performance.now() - t0;
    this.stats.runs++;
    const scan = out.tokens!;
    const data = scan.data as BigInt64Array;
    const made = scan.dims[0] ?? 0;
    return rows.map((_, b) => {
      const ids: number[] = [];
      for (let s = 0; s < made; s++) {
        const id = Number(data[s * R + b]);
        if (id < 0) break;
        ids.push(id);
      }
      this.stats.tokens += ids.length;
      return ids;
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
