/**
 * How a fuzz run is sized and seeded. CI uses a fixed seed and each target's modest `ciRuns`; `npm run fuzz` uses a
 * random seed (printed) and `LONG_RUNS_FACTOR` × more runs. Environment:
 * - `FUZZ_SEED`: the seed (replays a run exactly);
 * - `FUZZ_PATH`: fast-check's counterexample path (with `FUZZ_SEED`, replays one failure directly);
 * - `FUZZ_RUNS`: inputs per target, overriding both defaults;
 * - `FUZZ_TARGET`: only targets whose name contains this;
 * - `FUZZ_SECONDS`: time budget per target (the run stops early, not failing, when it is spent); the long run
 *   defaults to `LONG_SECONDS_PER_TARGET` so that it stays within about five minutes.
 */
export const CI_SEED = 20261127;
export const LONG_RUNS_FACTOR = 30;
export const LONG_SECONDS_PER_TARGET = 40;

export interface FuzzSettings {
  seed: number;
  /** null: each target's own default for the mode. */
  runs: number | null;
  mode: 'ci' | 'long';
  path?: string;
  target?: string;
  secondsPerTarget?: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

export function fuzzSettings(mode: 'ci' | 'long', env: NodeJS.ProcessEnv = process.env): FuzzSettings {
  const seed = positiveInt(env, 'FUZZ_SEED') ?? (mode === 'ci' ? CI_SEED : Math.floor(Math.random() * 2 ** 31));
  const seconds = positiveInt(env, 'FUZZ_SECONDS') ?? (mode === 'long' ? LONG_SECONDS_PER_TARGET : undefined);
  return {
    seed,
    runs: positiveInt(env, 'FUZZ_RUNS') ?? null,
    mode,
    ...(env.FUZZ_PATH ? { path: env.FUZZ_PATH } : {}),
    ...(env.FUZZ_TARGET ? { target: env.FUZZ_TARGET } : {}),
    ...(seconds ? { secondsPerTarget: seconds } : {}),
  };
}

export function runsFor(settings: FuzzSettings, ciRuns: number): number {
  if (settings.runs !== null) return settings.runs;
  return settings.mode === 'ci' ? ciRuns : ciRuns * LONG_RUNS_FACTOR;
}
