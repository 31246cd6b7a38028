/**
 * A local SQS-compatible server (local-aws-sqs: JSON and Query protocols, visibility timeouts, long polling,
 * redrive to a DLQ after maxReceiveCount, delays). The queue state lives in this process, outside the HTTP listener,
 * so `stop()`/`start()` simulate an outage without losing messages. Used by the tests and by the local stack.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { listenRestartable } from './restartable-listener.ts';

const require = createRequire(import.meta.url);

/**
 * Two behaviours of local-aws-sqs 2.0.2 differ from AWS SQS in ways that matter to a queue consumer:
 * 1. ChangeMessageVisibility increments ApproximateReceiveCount, so every heartbeat pushes a message closer to the
 *    DLQ (AWS counts receives only);
 * 2. a long poll with MaxNumberOfMessages > 1 waits until it can fill the whole batch (AWS returns as soon as any
 *    message is available).
 * We load a copy of its bundle with both corrected. Each replacement must match exactly once, so a different
 * version fails loudly here instead of behaving differently.
 */
const PATCHES: [string, string][] = [
  [
    'let n=Number(t.record.attributes.ApproximateReceiveCount)+1;',
    'let n=Number(t.record.attributes.ApproximateReceiveCount)+(i?0:1);',
  ],
  ['}},10),c.unref()', '}if(r.length>0){clearInterval(c),clearTimeout(n),o()}},10),c.unref()'],
];

interface SqsService {
  PORT: number;
}
type CreateRequestHandler = (options: Record<string, unknown>) => {
  service: SqsService;
  requestHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
};

function loadPatchedLocalSqs(): CreateRequestHandler {
  const original = require.resolve('local-aws-sqs');
  const tag = createHash('sha256').update(JSON.stringify(PATCHES)).digest('hex').slice(0, 8);
  const patched = original.replace(/index\.js$/, `index.yi-vl-patched-${tag}.cjs`);
  if (!existsSync(patched)) {
    let source = readFileSync(original, 'utf8');
    for (const [from, to] of PATCHES) {
      const count = source.split(from).length - 1;
      if (count !== 1) throw new Error(`local-aws-sqs patch target found ${count} times (expected 1): ${from}`);
      source = source.replace(from, to);
    }
    writeFileSync(patched, source);
  }
  return (require(patched) as { createRequestHandler: CreateRequestHandler }).createRequestHandler;
}

export interface LocalSqsOptions {
  port?: number;
  host?: string;
}

export interface LocalSqs {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const createRequestHandler = loadPatchedLocalSqs();
  const { service, requestHandler } = createRequestHandler({
    port,
    hostname: host,
    emulateQueueCreationLifecycle: false,
  });
  const listener = await listenRestartable((req, res) => void requestHandler(req, res), host, port);
  // Queue URLs carry the port the service believes it listens on.
  service.PORT = listener.port;
  return {
    endpoint: listener.endpoint,
    port: listener.port,
    stop: () => listener.stop(),
    start: () => listener.start(),
    close: () => listener.stop(),
  };
}
