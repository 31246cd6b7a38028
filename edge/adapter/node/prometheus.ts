import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { EdgeMetrics } from '../../metrics.ts';

export interface PrometheusMetrics extends EdgeMetrics {
  registry: Registry;
}

export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'edge_http_request_duration_seconds',
    help: 'Edge API request duration by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const accepted = new Counter({
    name: 'edge_jobs_accepted_total',
    help: 'Jobs accepted (202) by image source; replayed = answered from an Idempotency-Key',
    labelNames: ['source', 'replayed'] as const,
    registers: [registry],
  });
  return {
    registry,
    request(method, route, status, seconds) {
      duration.observe({ method, route, status: String(status) }, seconds);
    },
    jobAccepted(source, replayed) {
      accepted.inc({ source, replayed: String(replayed) });
    },
  };
}

/** Serves `/metrics` on its own port, so the scrape endpoint is never exposed with the public API. */
export async function startMetricsServer(registry: Registry, port: number, hostname: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, hostname, resolve));
  return server;
}
