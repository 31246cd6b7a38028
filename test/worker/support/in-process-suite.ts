/**
 * The shared set-up of the in-process worker suites: real loopback S3/SQS, a verifying webhook receiver, and a worker
 * (scripted analyzer) that each test (re)starts with its own settings. Registers before/after hooks in the calling
 * describe(); read the fields inside tests (they are set once `before` has run).
 */
import { after, before } from 'node:test';
import type { WorkerHandle } from '../../../gpu-worker/main.ts';
import { type LocalAws, startLocalAws } from '../../support/local-aws.ts';
import { startTestWorker, WebhookReceiver } from './harness.ts';
import { ScriptedAnalyzer } from './scripted-analyzer.ts';

export interface InProcessWorkerSuite {
  aws: LocalAws;
  receiver: WebhookReceiver;
  /** the analyzer of the worker last started by useWorker() */
  analyzer: ScriptedAnalyzer;
  /** Stops the running worker (if any) and starts a fresh one with these env overrides, step time and clock. */
  useWorker(overrides?: Record<string, string>, stepMs?: number, clock?: () => Date): Promise<WorkerHandle>;
  stopWorker(): Promise<void>;
}

export function inProcessWorkerSuite(maxReceives: number): InProcessWorkerSuite {
  let worker: WorkerHandle | null = null;
  const suite: InProcessWorkerSuite = {
    aws: undefined as unknown as LocalAws,
    receiver: undefined as unknown as WebhookReceiver,
    analyzer: undefined as unknown as ScriptedAnalyzer,
    async useWorker(overrides = {}, stepMs = 30, clock?: () => Date) {
      await suite.stopWorker();
      suite.analyzer = new ScriptedAnalyzer(stepMs);
      worker = await startTestWorker(
        suite.aws,
        suite.analyzer,
        { MAX_RECEIVE_COUNT: String(maxReceives), ...overrides },
        clock,
      );
      return worker;
    },
    async stopWorker() {
      await worker?.stop();
      worker = null;
    },
  };
  before(async () => {
    suite.aws = await startLocalAws({ maxReceiveCount: maxReceives, visibilityTimeoutSeconds: 3 });
    suite.receiver = await WebhookReceiver.start();
  });
  after(async () => {
    await suite.stopWorker();
    await suite.receiver.stop();
    await suite.aws.close();
  });
  return suite;
}
