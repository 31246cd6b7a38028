// A real worker process with the scripted analyzer, for tests that kill or signal it.
import { runWorkerProcess } from '../../../gpu-worker/main.ts';
import { ScriptedAnalyzer } from './scripted-analyzer.ts';

await runWorkerProcess(async () => new ScriptedAnalyzer(Number(process.env.SCRIPTED_STEP_MS ?? 50)));
