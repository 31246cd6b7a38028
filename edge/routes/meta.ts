import type { Hono } from 'hono';
import { problem } from '../../shared/errors/problem.ts';
import type { QueueDepth } from '../../shared/ports/job-queue.ts';
import type { AppContext, EdgeEnv } from '../context.ts';
import { DEPENDENCY_RETRY_AFTER_SECONDS, problemResponse } from '../http/problem-response.ts';
import { docsPage } from '../openapi/docs-page.ts';
import { openApiDocument } from '../openapi/document.ts';

const HEALTH_TIMEOUT_MS = 3_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export function registerMetaRoutes(app: Hono<EdgeEnv>, ctx: AppContext): void {
  app.get('/healthz', async (c) => {
    const [s3, sqs] = await Promise.allSettled([
      withTimeout(ctx.deps.store.ping(), HEALTH_TIMEOUT_MS),
      withTimeout(ctx.deps.jobQueue.depth(), HEALTH_TIMEOUT_MS),
    ]);
    const checks = { s3: s3.status === 'fulfilled' ? 'ok' : 'down', sqs: sqs.status === 'fulfilled' ? 'ok' : 'down' };
    c.header('Cache-Control', 'no-store');
    if (s3.status === 'rejected' || sqs.status === 'rejected') {
      c.get('log').warn({ checks }, 'health check failed');
      return problemResponse(
        problem('dependency_unavailable', 'A storage or queue dependency is unreachable.', { checks }),
        { 'Retry-After': String(DEPENDENCY_RETRY_AFTER_SECONDS) },
      );
    }
    const depth: QueueDepth = sqs.value;
    return c.json({
      status: 'ok',
      checks,
      queue: { visible: depth.visible, in_flight: depth.inFlight, delayed: depth.delayed },
    });
  });

  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.get('/docs', (c) => c.html(docsPage()));
}
