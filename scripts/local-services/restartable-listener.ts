/**
 * An HTTP listener that can be stopped and started again on the same port while the state behind its handler lives
 * on: how the local servers simulate an outage of S3 or SQS without losing data.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RestartableListener {
  readonly port: number;
  readonly endpoint: string;
  start(): Promise<void>;
  /** Drops open connections and stops listening. */
  stop(): Promise<void>;
}

export async function listenRestartable(
  handler: RequestListener,
  host: string,
  port = 0,
): Promise<RestartableListener> {
  let server: Server | undefined;
  let bound = port;
  const listener: RestartableListener = {
    get port() {
      return bound;
    },
    get endpoint() {
      return `http://${host}:${bound}`;
    },
    async start() {
      const s = createServer(handler);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(bound, host, () => resolve());
      });
      bound = (s.address() as AddressInfo).port;
      server = s;
    },
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await listener.start();
  return listener;
}
