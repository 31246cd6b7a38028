import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import { ConfigError } from '../../../shared/config/env.ts';
import { createApp } from '../../app.ts';
import { type EdgeConfig, parseEdgeConfig } from '../../config.ts';
import type { EdgeDeps } from '../../ports.ts';
import { buildNodeDeps } from './build-deps.ts';
import { answerClientError } from './client-error.ts';
import { LingeringClose, type LingerLimits } from './lingering-close.ts';
import { createPrometheusMetrics, startMetricsServer } from './prometheus.ts';

const MIB = 1024 * 1024;

export interface EdgeServer {
  url: string;
  /** Client connections open now, lingering ones included. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

/** Bounds of the lingering close after an early answer (docs/api.md, "Uploads refused before they arrive"). */
export function lingerLimits(config: EdgeConfig): LingerLimits {
  return {
    maxMs: config.LINGER_MAX_SECONDS * 1000,
    idleMs: config.LINGER_IDLE_SECONDS * 1000,
    maxBytes: config.LINGER_MAX_BYTES ?? Math.max(64 * MIB, 2 * config.MAX_UPLOAD_BYTES),
  };
}

/** Starts the edge API on Node; `PORT=0` picks a free port. `overrides` lets tests and the local stack swap ports. */
export async function startEdgeServer(
  config: EdgeConfig,
  options: { hostname?: string; overrides?: Partial<EdgeDeps> } = {},
): Promise<EdgeServer> {
  const metrics = createPrometheusMetrics();
  const deps = buildNodeDeps(config, { metrics, ...options.overrides });
  const app = createApp(deps);
  const lingering = new LingeringClose(lingerLimits(config));
  const fetch = async (req: Request, env: HttpBindings | Http2Bindings) => {
    const res = await app.fetch(req, env);
    // An upload answered before its body fully arrived (413, 401, 429, …): the connection ends after the answer, with
    // a lingering close so that a client still sending reads the answer instead of a reset. Announce the close, or a
    // keep-alive client sends its next request into it.
    if (env.incoming.complete || env.incoming.httpVersionMajor !== 1) return res;
    lingering.afterAnswer(env.incoming as IncomingMessage);
    const headers = new Headers(res.headers);
    headers.set('connection', 'close');
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  };
  const hostname = options.hostname ?? '127.0.0.1';
  const metricsServer =
    config.METRICS_PORT > 0 ? await startMetricsServer(metrics.registry, config.METRICS_PORT, hostname) : null;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, port: config.PORT, hostname }, () => resolve(s));
    s.on('clientError', (err: Error, socket: Socket) => answerClientError(err, socket, lingering, deps.logger));
    // A taken port is a start-up error with a message, not an unhandled 'error' event.
    s.once('error', (err: NodeJS.ErrnoException) => {
      deps.close();
      reject(
        err.code === 'EADDRINUSE' ? new Error(`port ${config.PORT} on ${hostname} is already in use (set PORT)`) : err,
      );
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    connections: () =>
      new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    close: () =>
      new Promise<void>((resolve) => {
        metricsServer?.close();
        lingering.closeAll();
        server.close(() => {
          deps.close();
          resolve();
        });
        // Idle keep-alive sockets would hold close() open.
        (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      }),
  };
}

async function main(): Promise<void> {
  let config: EdgeConfig;
  try {
    config = parseEdgeConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const server = await startEdgeServer(config, { hostname: process.env.HOST ?? '0.0.0.0' });
  console.log(JSON.stringify({ level: 30, msg: 'edge listening', url: server.url }));
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => {
      void server.close().then(() => process.exit(0));
    });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
