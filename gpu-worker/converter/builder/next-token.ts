// The next-token choice inside decoder_loop.onnx, with the JS generation's semantics and order
// (yi-vl/generation/logits-processors.ts, sampler.ts): repetition penalty, then for sampling rows temperature →
// top-k → top-p → one draw from the softmax with a uniform the caller supplies (the row's own seeded draws);
// greedy rows (temperature 0) take the ArgMax. Every parameter is a per-row input, so one batch mixes them.
//
// Equal choices, not just similar ones: where JS computes in float64 (the penalty and temperature divisions, the
// softmax, the cumulative sums) the graph computes in float64 too, and the sums run in JS's order through CumSum
// (sequential on the CPU EP), so `u < cum` is decided on the same numbers up to the last bit of exp() (onnxruntime's
// and V8's exp differ by an ulp on some arguments). Results that are float32 in JS (processed logits) are rounded
// to float32 at the same points, so the top-k and top-p cuts, ties included, fall on the same values.
//
// Cost: the processors after top-k and the draw work on each row's few candidates (its finite logits after top-k,
// or for top-p without top-k its CANDIDATES largest), not on the vocabulary; the repetition penalty touches only
// the seen ids; each part a run does not use is skipped by an If on a flag computed once per run.
//
// One file (about 440 lines) because its parts are one pipeline over shared per-row tensors, in the order of the
// JS processors they mirror; each `make*` part is short and named after the processor it reproduces.
import { type Dim, Graph, graphAttr, int, ints } from '../../onnx/graph.ts';
import type { DataTypeName } from '../../onnx/proto.ts';
import { TensorDataType } from '../../onnx/proto.ts';
import { TO_END } from './base.ts';

/** Candidates a row with top-p but no top-k starts with; more only when its nucleus does not fit (a full sort). */
export const TOP_P_CANDIDATES = 1024;

/** The per-run sampling inputs and what is derived from them once per run, outside the Loop. */
export interface SamplingRun {
  /** bool [R, 1]: the row is greedy (temperature 0) */
  greedy: string;
  /** bool scalar: some row samples */
  anySample: string;
  /** float64 [R, 1]: the temperature (1 on greedy rows) */
  temperature: string;
  /** bool scalar: some sampling row has top-k on (0 < k < vocab) */
  anyTopK: string;
  /** int64 [1]: the largest k of the run (≥ 1) */
  kMax: string;
  /** int64 [R, 1]: k − 1 (0 where off) */
  kIndex: string;
  /** bool [R, 1]: top-k on for the row */
  kOn: string;
  /** float64 [R, 1] */
  topP: string;
  /** bool [R, 1]: top-p on for the row */
  pOn: string;
  /** bool [R, 1]: a sampling row with neither top-k nor top-p (drawn over the whole vocabulary) */
  plain: string;
  /** bool scalar: some row is plain */
  anyPlain: string;
  /** bool scalar: some sampling row has top-k or top-p (drawn over its candidates) */
  anyCut: string;
  /** bool scalar: some row has a repetition penalty ≠ 1 */
  anyPenalty: string;
  /** float64 [R, 1] */
  penalty: string;
  /** int64 [1]: the vocabulary the choice is made over (the tokenizer's; the logits may be padded beyond it) */
  vocab: string;
}

const NEG_INF = Number.NEGATIVE_INFINITY;
const ROWS: Dim = 'batch';
const VOCAB: Dim = 'vocab';

export class NextTokenBuilder {
  /** Cast to `to`. */
  protected cast(g: Graph, x: string, to: DataTypeName): string {
    return g.op('Cast', [x], { to: int(TensorDataType[to]) });
  }

  protected f64(g: Graph, v: number): string {
    return g.constScalar(v, 'float64', (a) => new Uint8Array(Float64Array.from(a).buffer));
  }

  protected f32(g: Graph, v: number): string {
    return g.constScalar(v, 'float32', (a) => new Uint8Array(Float32Array.from(a).buffer));
  }

  protected i64(g: Graph, v: number): string {
    return g.constInt64([v], true);
  }

  /** bool scalar: some element of the bool tensor `b` is true. */
  protected any(g: Graph, b: string): string {
    return this.cast(g, g.op('ReduceMax', [this.cast(g, b, 'int64')], { keepdims: int(0) }), 'bool');
  }

  /** int64 [R, 1]: how many elements of each row of the bool [R, N] tensor `b` are true. */
  protected count(g: Graph, b: string): string {
    return g.op('ReduceSum', [this.cast(g, b, 'int64'), g.constInt64([1])], { keepdims: int(1) });
  }

  protected unsqueeze1(g: Graph, x: string): string {
    return g.op('Unsqueeze', [x, g.constInt64([1])]);
  }

  /** Sequential sum along the last axis (CumSum), optionally exclusive and/or from the end. */
  protected cumsum(g: Graph, x: string, opts: { exclusive?: boolean; reverse?: boolean } = {}): string {
    return g.op('CumSum', [x, g.constInt64([-1], true)], {
      exclusive: int(opts.exclusive ? 1 : 0),
      reverse: int(opts.reverse ? 1 : 0),
    });
  }

  /** Column j of a [R, N] tensor as [R, 1] (negative j counts from the end). */
  protected column(g: Graph, x: string, j: number): string {
    return g.op('Slice', [x, g.constInt64([j]), g.constInt64([j === -1 ? TO_END : j + 1]), g.constInt64([1])]);
  }

  /** int64 scalar: the size of the last axis of a [R, N] tensor. */
  protected width(g: Graph, x: string): string {
    return g.op('Gather', [g.op('Shape', [x]), this.i64(g, 1)], { axis: int(0) });
  }

  /**
   * `then(branch)` when the bool scalar `cond` holds, else `otherwise` (a value of the enclosing scope, or built in
   * the else branch). `name` prefixes the branches' names and must be unique in the model.
   */
  protected makeIf(
    g: Graph,
    cond: string,
    name: string,
    out: { dtype: DataTypeName; shape: Dim[] },
    then: (branch: Graph) => string,
    otherwise: string | ((branch: Graph) => string),
  ): string {
    const branch = (kind: string, make: (b: Graph) => string) => {
      const b = new Graph(`${name}.${kind}`, null, `${name}.${kind}/`);
      const result = `${name}.${kind}/result`;
      b.node('Identity', [make(b)], {}, { outputs: [result] });
      b.output(result, out.dtype, out.shape);
      return b;
    };
    const thenBranch = branch('then', then);
    const elseBranch = branch('else', typeof otherwise === 'string' ? () => otherwise : otherwise);
    return g.op(
      'If',
      [cond],
      { then_branch: graphAttr(thenBranch), else_branch: graphAttr(elseBranch) },
      { name: `${name}/If` },
    );
  }

  /**
   * Declares the per-row inputs `temperature` float64 [R], `top_k` int64 [R], `top_p` float64 [R] and
   * `repetition_penalty` float64 [R] on `g` and derives the run's flags and thresholds. `vocab`: int64 [1].
   */
  makeSamplingRun(g: Graph, vocab: string): SamplingRun {
    const col = (x: string) => this.unsqueeze1(g, x);
    const t = g.input('temperature', 'float64', [ROWS]);
    const k = g.input('top_k', 'int64', [ROWS]);
    const p = g.input('top_p', 'float64', [ROWS]);
    const pen = g.input('repetition_penalty', 'float64', [ROWS]);
    const greedy = g.op('Equal', [t, this.f64(g, 0)]);
    const sampling = g.op('Not', [greedy]);
    // TopKWarper: k = min(max(top_k, 1), V) and nothing to do when k ≥ V; off when 0
    const kOn = g.op('And', [sampling, g.op('And', [g.op('Greater', [k, this.i64(g, 0)]), g.op('Less', [k, vocab])])]);
    const kEff = g.op('Where', [kOn, k, this.i64(g, 0)]);
    const kMax = g.op('Max', [g.op('ReduceMax', [kEff], { keepdims: int(1) }), g.constInt64([1])]);
    const kIndex = col(g.op('Max', [g.op('Sub', [kEff, this.i64(g, 1)]), this.i64(g, 0)]));
    const pOn = g.op('And', [sampling, g.op('Less', [p, this.f64(g, 1)])]);
    const cut = g.op('Or', [kOn, pOn]);
    const plain = g.op('And', [sampling, g.op('Not', [cut])]);
    return {
      greedy: col(greedy),
      anySample: this.any(g, sampling),
      temperature: col(g.op('Where', [greedy, this.f64(g, 1), t])),
      anyTopK: this.any(g, kOn),
      kMax,
      kIndex,
      kOn: col(kOn),
      topP: col(p),
      pOn: col(pOn),
      plain: col(plain),
      anyPlain: this.any(g, plain),
      anyCut: this.any(g, cut),
      anyPenalty: this.any(g, g.op('Not', [g.op('Equal', [pen, this.f64(g, 1)])])),
      penalty: col(pen),
      vocab,
    };
  }

  /**
   * RepetitionPenaltyProcessor over `seen` int64 [R, S] (each row's seen ids; repeats allowed): each is divided by
   * the penalty when > 0 and multiplied when < 0, in float64, rounded to float32 (as JS stores it in a Float32Array).
   * Only the seen ids are read and written.
   */
  makeRepetitionPenalty(g: Graph, x: string, seen: string, run: SamplingRun): string {
    return this.makeIf(
      g,
      run.anyPenalty,
      'next.penalty',
      { dtype: 'float32', shape: [ROWS, VOCAB] },
      (b) => {
        const vd = this.cast(b, b.op('GatherElements', [x, seen], { axis: int(1) }), 'float64');
        const pushed = b.op('Where', [
          b.op('Less', [vd, this.f64(b, 0)]),
          b.op('Mul', [vd, run.penalty]),
          b.op('Div', [vd, run.penalty]),
        ]);
        return b.op('ScatterElements', [x, seen, this.cast(b, pushed, 'float32')], { axis: int(1) });
      },
      x,
    );
  }

  /** Writes each row's `next` id (int64 [R]) into column `at` (int64 scalar) of `seen` int64 [R, S]. */
  makeSeenUpdate(g: Graph, seen: string, next: string, at: string): string {
    const ids = this.unsqueeze1(g, next);
    const where = g.op('Expand', [g.op('Reshape', [at, g.constInt64([1, 1])]), g.op('Shape', [ids])]);
    return g.op('ScatterElements', [seen, where, ids], { axis: int(1) });
  }

  /** TemperatureWarper: logits / T in float64, rounded to float32 (greedy rows divide by 1). */
  makeTemperature(g: Graph, x: string, run: SamplingRun): string {
    return this.cast(g, g.op('Div', [this.cast(g, x, 'float64'), run.temperature]), 'float32');
  }

  /** TopKWarper: every logit below the row's k-th largest (counted with repeats) becomes −∞; ties with it stay. */
  makeTopK(g: Graph, x: string, run: SamplingRun): string {
    return this.makeIf(
      g,
      run.anyTopK,
      'next.top_k',
      { dtype: 'float32', shape: [ROWS, VOCAB] },
      (b) => {
        const [sorted] = b.node(
          'TopK',
          [x, run.kMax],
          { axis: int(-1), largest: int(1), sorted: int(1) },
          { outputs: 2 },
        );
        const kth = b.op('GatherElements', [sorted!, run.kIndex], { axis: int(1) });
        const threshold = b.op('Where', [run.kOn, kth, this.f32(b, NEG_INF)]);
        return b.op('Where', [b.op('Less', [x, threshold]), this.f32(b, NEG_INF), x]);
      },
      x,
    );
  }

  /**
   * The `n` (int64 [1]) largest logits of each row as candidates: `values` float32 [R, n] in descending order, and
   * the same candidates in ascending id order as `byId` (values) and `ids` int64 [R, n]. Nothing here depends on
   * the order TopK gives equal values.
   */
  makeCandidates(g: Graph, x: string, n: string, name: string): { values: string; byId: string; ids: string } {
    const [values, at] = g.node('TopK', [x, n], { axis: int(-1), largest: int(1), sorted: int(1) }, { outputs: 2 });
    // the positions of the candidates in id order: a sort of their ids, or, when every id is a candidate, the
    // inverse of TopK's permutation, without a second sort of the whole vocabulary
    const order = this.makeIf(
      g,
      g.op('Equal', [n, this.width(g, x)]),
      `${name}.by_id`,
      { dtype: 'int64', shape: [ROWS, 'candidates'] },
      (b) => {
        const shape = b.op('Shape', [at!]);
        const count = b.op('Squeeze', [n, b.constInt64([0])]);
        const positions = b.op('Expand', [b.op('Range', [this.i64(b, 0), count, this.i64(b, 1)]), shape]);
        return b.op('ScatterElements', [b.op('Expand', [this.i64(b, 0), shape]), at!, positions], { axis: int(1) });
      },
      (b) => b.node('TopK', [at!, n], { axis: int(-1), largest: int(0), sorted: int(1) }, { outputs: 2 })[1]!,
    );
    return {
      values: values!,
      byId: g.op('GatherElements', [values!, order], { axis: int(1) }),
      ids: g.op('GatherElements', [at!, order], { axis: int(1) }),
    };
  }

  /**
   * TopPWarper on a row's candidates, then the draw among them. z = Σ exp(v − max) from the smallest value up;
   * walking down from the largest, a candidate goes once the mass above it (from the second on) reaches top_p; of
   * the values equal to the smallest kept one, as many stay as were kept, lowest ids first. JS walks the whole
   * vocabulary in id order for the draw, where every id outside the kept candidates has probability 0 and adds
   * nothing, so walking the candidates in id order gives the same sums and the same id.
   *
   * `finite` int64 [R, 1]: the row's finite logits. A row whose candidates hold all of them (top-k) gets JS's z
   * exactly; a top-p row with more takes z over its whole row `x` in id order (equal to JS's up to rounding), and
   * is `short` (bool [R, 1]) when its nucleus, or a tie at its cut, may reach past its candidates.
   */
  makeCutDraw(g: Graph, x: string, u: string, n: string, finite: string, run: SamplingRun, name: string) {
    const negInf = this.f32(g, NEG_INF);
    const { values, byId, ids } = this.makeCandidates(g, x, n, name);
    const width = this.width(g, values);
    const complete = g.op('Not', [g.op('Greater', [finite, width])]);
    const vd = this.cast(g, values, 'float64');
    const max = this.column(g, vd, 0);
    const e = g.op('Exp', [g.op('Sub', [vd, max])]); // padding: exp(−∞) = 0
    const zCandidates = this.column(g, this.cumsum(g, e, { reverse: true }), 0);
    const z = this.makeIf(
      g,
      this.any(g, g.op('And', [run.pOn, g.op('Not', [complete])])),
      `${name}.z`,
      { dtype: 'float64', shape: [ROWS, 1] },
      (b) => {
        const all = this.column(b, this.cumsum(b, b.op('Exp', [b.op('Sub', [this.cast(b, x, 'float64'), max])])), -1);
        return b.op('Where', [complete, zCandidates, all]);
      },
      zCandidates,
    );
    const above = this.cumsum(g, g.op('Div', [e, z]), { exclusive: true });
    const col = g.op('Range', [this.i64(g, 0), width, this.i64(g, 1)]);
    const goes = g.op('And', [g.op('Greater', [col, this.i64(g, 0)]), g.op('Not', [g.op('Less', [above, run.topP])])]);
    const stays = this.count(g, g.op('Not', [goes]));
    const keep = g.op('Min', [stays, finite]); // [R, 1]
    const last = g.op('Max', [g.op('Sub', [keep, this.i64(g, 1)]), this.i64(g, 0)]);
    const cut = g.op('GatherElements', [values, last], { axis: int(1) }); // the smallest value kept
    const tiesKept = this.count(g, g.op('And', [g.op('Equal', [values, cut]), g.op('Less', [col, keep])]));
    const atCut = g.op('Equal', [byId, cut]);
    const rank = this.cumsum(g, this.cast(g, atCut, 'int64')); // among the ties, in id order
    const drop = g.op('Or', [g.op('Less', [byId, cut]), g.op('And', [atCut, g.op('Greater', [rank, tiesKept])])]);
    const applies = g.op('And', [run.pOn, g.op('Less', [keep, finite])]);
    const kept = g.op('Where', [g.op('And', [drop, applies]), negInf, byId]);
    const reachesEnd = g.op('Or', [g.op('Equal', [stays, width]), g.op('Equal', [cut, this.column(g, values, -1)])]);
    const short = g.op('And', [run.pOn, g.op('And', [g.op('Not', [complete]), reachesEnd])]);
    const position = this.makeDraw(g, kept, u, `${name}.draw`);
    const id = g.op('Squeeze', [
      g.op('GatherElements', [ids, this.unsqueeze1(g, position)], { axis: int(1) }),
      g.constInt64([1]),
    ]);
    return { id, short };
  }

  /**
   * MultinomialSampler over `x` float32 [R, N] in id order: softmax in float64 (max, exp, the sum in id order), then
   * the first position whose cumulative probability exceeds the uniform `u` (float64 [R]); when rounding leaves u
   * at or above every sum, the last position with p > 0. Returns int64 [R] positions.
   */
  makeDraw(g: Graph, x: string, u: string, name: string): string {
    const xd = this.cast(g, x, 'float64');
    const max = g.op('ReduceMax', [xd], { axes: ints([1]), keepdims: int(1) });
    const e = g.op('Exp', [g.op('Sub', [xd, max])]); // exp(−∞) = 0, as in JS
    const probs = g.op('Div', [e, this.column(g, this.cumsum(g, e), -1)]);
    const cum = this.cumsum(g, probs);
    // JS returns the first position with u < cum, so the positions before it are those with cum ≤ u
    const passed = g.op('LessOrEqual', [cum, this.unsqueeze1(g, u)]);
    const index = g.op('ReduceSum', [this.cast(g, passed, 'int64'), g.constInt64([1])], { keepdims: int(0) });
    const width = this.width(g, x);
    const pastEnd = g.op('Not', [g.op('Less', [index, width])]);
    return this.makeIf(
      g,
      this.any(g, pastEnd),
      `${name}.past_end`,
      { dtype: 'int64', shape: [ROWS] },
      (b) => {
        const col = b.op('Range', [this.i64(b, 0), width, this.i64(b, 1)]);
        const possible = b.op('Where', [b.op('Greater', [probs, this.f64(b, 0)]), col, this.i64(b, -1)]);
        const last = b.op('ReduceMax', [possible], { axes: ints([1]), keepdims: int(0) });
        return b.op('Where', [pastEnd, last, index]);
      },
      index,
    );
  }

  /**
   * The draw of the rows with top-k or top-p: each over its candidates (its finite logits after top-k, or its
   * TOP_P_CANDIDATES largest for top-p alone); a top-p row whose nucleus may not fit is drawn again over its whole
   * sorted row.
   */
  makeSampleWithCut(g: Graph, x: string, u: string, run: SamplingRun): string {
    const finite = this.count(g, g.op('Greater', [x, this.f32(g, NEG_INF)]));
    const wanted = g.op('Where', [
      run.kOn,
      finite,
      g.op('Where', [run.pOn, g.constInt64([TOP_P_CANDIDATES], true), this.i64(g, 1)]),
    ]);
    const n = g.op('Min', [
      g.op('ReduceMax', [wanted], { keepdims: int(0) }),
      g.op('Squeeze', [run.vocab, g.constInt64([0])]),
    ]);
    const first = this.makeCutDraw(g, x, u, g.op('Reshape', [n, g.constInt64([1])]), finite, run, 'next.cut');
    return this.makeIf(
      g,
      this.any(g, first.short),
      'next.full_sort',
      { dtype: 'int64', shape: [ROWS] },
      (b) => {
        // only the short rows, over their whole sorted row
        const rows = b.op('Squeeze', [
          b.op('NonZero', [b.op('Squeeze', [first.short, b.constInt64([1])])]),
          b.constInt64([0]),
        ]);
        const take = (t: string) => b.op('Gather', [t, rows], { axis: int(0) });
        const sub = { ...run, pOn: take(run.pOn), topP: take(run.topP) };
        const redrawn = this.makeCutDraw(b, take(x), take(u), run.vocab, take(finite), sub, 'next.full').id;
        return b.op('ScatterElements', [first.id, rows, redrawn], { axis: int(0) });
      },
      first.id,
    );
  }

  /**
   * The next token of every row: `logits` float32 [R, ≥ V] (only the first `run.vocab` ids can be chosen), `seen`
   * int64 [R, S] (ids the repetition penalty applies to), `u` float64 [R] (this step's uniform per row; unused on
   * greedy rows) → int64 [R].
   */
  makeNextToken(g: Graph, logits: string, seen: string, u: string, run: SamplingRun): string {
    const inVocab = g.op('Slice', [logits, g.constInt64([0]), run.vocab, g.constInt64([1])]);
    const x = this.makeRepetitionPenalty(g, inVocab, seen, run);
    const greedyIds = g.op('ArgMax', [x], { axis: int(1), keepdims: int(0) }); // the first maximum, as JS
    return this.makeIf(
      g,
      run.anySample,
      'next.sample',
      { dtype: 'int64', shape: [ROWS] },
      (b) => {
        const xs = this.makeTopK(b, this.makeTemperature(b, x, run), run);
        const squeeze = (v: string) => b.op('Squeeze', [v, b.constInt64([1])]);
        const withCut = this.makeIf(
          b,
          run.anyCut,
          'next.cut_rows',
          { dtype: 'int64', shape: [ROWS] },
          (c) => this.makeSampleWithCut(c, xs, u, run),
          greedyIds,
        );
        const plain = this.makeIf(
          b,
          run.anyPlain,
          'next.plain_rows',
          { dtype: 'int64', shape: [ROWS] },
          (c) => this.makeDraw(c, xs, u, 'next.plain'),
          greedyIds,
        );
        return b.op('Where', [squeeze(run.greedy), greedyIds, b.op('Where', [squeeze(run.plain), plain, withCut])]);
      },
      greedyIds,
    );
  }
}

/**
 * A graph of the next-token choice alone (for tests and measurement): `logits` float32 [R, L], `seen_ids` int64
 * [R, S], `vocab_size` int64 scalar (≤ L), `uniforms` float64 [R] and the per-row parameters → `next_token` int64 [R].
 */
export function nextTokenGraph(): Graph {
  const g = new Graph('yi_vl_next_token', null);
  const parts = new NextTokenBuilder();
  const logits = g.input('logits', 'float32', [ROWS, 'logits_width']);
  const seen = g.input('seen_ids', 'int64', [ROWS, 'seen']);
  const vocab = g.op('Reshape', [g.input('vocab_size', 'int64', []), g.constInt64([1])]);
  const u = g.input('uniforms', 'float64', [ROWS]);
  const run = parts.makeSamplingRun(g, vocab);
  const next = parts.makeNextToken(g, logits, seen, u, run);
  g.node('Identity', [next], {}, { outputs: ['next_token'] });
  g.output('next_token', 'int64', [ROWS]);
  return g;
}
