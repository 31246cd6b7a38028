import { Hono } from 'hono';
import { matchedRoutes } from 'hono/route';
import { ProblemError, problem } from '../shared/errors/problem.ts';
import { type AppContext, createContext, type EdgeEnv } from './context.ts';
import { problemResponse, toProblem } from './http/problem-response.ts';
import { errorSummary } from './logger.ts';
import { noMetrics } from './metrics.ts';
import { registerPlaygroundRoutes } from './playground/routes.ts';
import type { EdgeDeps } from './ports.ts';
import { registerAccountRoutes } from './routes/account.ts';
import { registerBatchRoutes } from './routes/batches.ts';
import { registerJobInputRoute } from './routes/job-input.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerMetaRoutes } from './routes/meta.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The edge API as a runtime-agnostic Hono app: everything it touches comes in through `deps`, so the Node server,
 * the Lambda handler and the Workers module are thin wrappers around the same app.
 */
export function createApp(deps: EdgeDeps): Hono<EdgeEnv> {
  const ctx: AppContext = createContext(deps);
  const app = new Hono<EdgeEnv>();
  const metrics = deps.metrics ?? noMetrics;

  app.use('*', async (c, next) => {
    const incoming = c.req.header('request-id') ?? c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const log = deps.logger.child({ req_id: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    const started = Date.now();
    await next();
    c.res.headers.set('request-id', requestId);
    const route =
      matchedRoutes(c)
        .filter((r) => r.method !== 'ALL')
        .at(-1)?.path ?? 'unmatched';
    metrics.request(c.req.method, route, c.res.status, (Date.now() - started) / 1000);
    const principal = c.get('principal');
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Date.now() - started,
        ...(principal ? { tenant: principal.tenant, key_id: principal.keyId } : {}),
      },
      'request',
    );
  });

  app.use('/v1/*', async (c, next) => {
    const principal = await ctx.authenticate(c.req.header('authorization'));
    if (!principal)
      throw new ProblemError(
        'unauthorized',
        'Send a valid API key as Authorization: Bearer <key>.',
        {},
        {
          'WWW-Authenticate': 'Bearer realm="yi-vl"',
        },
      );
    c.set('principal', principal);
    const decision = ctx.limiter.take(principal.keyId, ctx.now().getTime());
    if (!decision.ok)
      throw new ProblemError(
        'rate_limited',
        `More than ${deps.config.RATE_LIMIT_PER_MINUTE} requests per minute for this API key.`,
        { retry_after: decision.retryAfterSeconds },
        { 'Retry-After': String(decision.retryAfterSeconds) },
      );
    await next();
  });

  registerMetaRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerJobInputRoute(app, ctx);
  registerBatchRoutes(app, ctx);
  registerAccountRoutes(app, ctx);
  registerPlaygroundRoutes(app);

  // A known path with an unsupported method: 405 with the methods it does support.
  const allowed: Record<string, string> = {
    '/v1/jobs': 'GET, POST',
    '/v1/jobs/:id': 'GET',
    '/v1/jobs/:id/cancel': 'POST',
    '/v1/jobs/:id/input': 'GET',
    '/v1/batches': 'GET, POST',
    '/v1/batches/:id': 'GET',
    '/v1/batches/:id/cancel': 'POST',
    '/v1/batches/:id/results': 'GET',
    '/v1/usage': 'GET',
    '/v1/events': 'GET',
    '/v1/webhook-secret': 'GET',
    '/healthz': 'GET',
    '/openapi.json': 'GET',
    '/docs': 'GET',
    '/': 'GET',
    '/playground': 'GET',
  };
  for (const [path, allow] of Object.entries(allowed))
    app.all(path, () => problemResponse(problem('method_not_allowed', `Use ${allow}.`), { Allow: allow }));

  app.notFound(() => problemResponse(problem('not_found', 'No such route.')));
  app.onError((err, c) => {
    const { problem: p, headers, unexpected } = toProblem(err);
    const log = c.get('log') ?? deps.logger;
    if (unexpected) log.error({ err: errorSummary(err) }, 'unhandled error');
    else if (p.status >= 500) log.warn({ code: p.code, err: errorSummary(err) }, 'dependency failure');
    return problemResponse(p, headers);
  });
  return app;
}
