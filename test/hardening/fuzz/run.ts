/**
 * `npm run fuzz`: every fuzz target with many more inputs than CI and a fresh random seed, printed so that any failure
 * replays with `FUZZ_SEED=<seed> FUZZ_PATH=<path> FUZZ_TARGET=<target> npm run fuzz`. Prints a markdown table and
 * exits 1 when an invariant broke. Sizing: see settings.ts (`FUZZ_RUNS`, `FUZZ_SECONDS`, `FUZZ_TARGET`).
 */
import { replayHint, reportTable, runTargets } from './runner.ts';
import { fuzzSettings } from './settings.ts';
import { FUZZ_TARGETS } from './targets/index.ts';

const settings = fuzzSettings('long');
const started = Date.now();
console.log(`fuzz: seed ${settings.seed}${settings.path ? `, path ${settings.path}` : ''}`);
const reports = await runTargets(FUZZ_TARGETS, settings);
console.log(reportTable(reports));
const total = reports.reduce((n, r) => n + r.tried, 0);
console.log(`\n${total} inputs in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${settings.seed})`);
const failed = reports.filter((r) => r.failed);
for (const r of failed) {
  console.log(`\nFAILED ${r.target}: ${r.error ?? ''}\ncounterexample: ${r.counterexample ?? '?'}`);
  console.log(`replay: ${replayHint(r)}`);
}
process.exit(failed.length ? 1 : 0);
