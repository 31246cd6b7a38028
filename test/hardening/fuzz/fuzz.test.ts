/**
 * CI variant of the fuzz suite: every target with a fixed seed and its modest `ciRuns` (settings.ts). The long run is
 * `npm run fuzz` (run.ts), through the same runner. A failure prints the counterexample and the replay command.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { replayHint, reportTable, runTargets, type TargetReport } from './runner.ts';
import { fuzzSettings, runsFor } from './settings.ts';
import { FUZZ_TARGETS } from './targets/index.ts';

describe('fuzz: intake, schemas and webhook signatures (fixed seed)', () => {
  const settings = fuzzSettings('ci');
  let reports: TargetReport[] = [];
  before(async () => {
    reports = await runTargets(FUZZ_TARGETS, settings);
    console.log(reportTable(reports));
  });

  for (const target of FUZZ_TARGETS) {
    const selected = !settings.target || target.name.includes(settings.target);
    test(target.name, { skip: !selected && 'FUZZ_TARGET excludes it' }, () => {
      const r = reports.find((x) => x.target === target.name);
      assert.ok(r, 'target did not run');
      assert.equal(
        r.failed,
        false,
        `${r.error ?? ''}\ncounterexample: ${r.counterexample ?? '?'}\nreplay: ${replayHint(r)}`,
      );
      if (!r.interrupted && !settings.path)
        assert.ok(r.numRuns >= runsFor(settings, target.ciRuns), `only ${r.numRuns} runs`);
    });
  }
});
