import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { ProblemError } from '../../shared/errors/problem.ts';
import { isJobId, JOB_ID_PATTERN } from '../../shared/ids.ts';
import { isTerminal, JobStatusSchema } from '../../shared/schemas/job.ts';
import type { AppContext, EdgeEnv } from '../context.ts';
import { preferredWait, REREAD_TIMEOUT_MS, sleepUnlessAborted } from '../http/prefer-wait.ts';
import { validationProblem } from '../http/problem-response.ts';
import { cancelJob } from '../jobs/cancel-job.ts';
import { createJob } from '../jobs/create-job.ts';
import { parseIdempotencyKey } from '../jobs/idempotency.ts';
import { jobView } from '../jobs/job-view.ts';
import { listJobs } from '../jobs/list-jobs.ts';
import { parseCreateRequest } from '../jobs/parse-create.ts';

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(JOB_ID_PATTERN, 'not a job id').optional(),
  created_after: z.iso.datetime({ offset: true }).optional(),
  status: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(JobStatusSchema))
    .optional(),
});

function jobIdParam(c: Context<EdgeEnv>): string {
  const id = c.req.param('id') ?? '';
  if (!isJobId(id)) throw new ProblemError('not_found', 'No such job.');
  return id;
}

export function registerJobRoutes(app: Hono<EdgeEnv>, ctx: AppContext): void {
  const { deps } = ctx;

  app.post('/v1/jobs', async (c) => {
    const principal = c.get('principal');
    const idempotencyKey = parseIdempotencyKey(c.req.header('idempotency-key'));
    await ctx.queueGate.check(ctx.now().getTime());
    const ctxForCreate = { deps, repo: ctx.repo, idempotency: ctx.idempotency, log: c.get('log'), now: ctx.now };
    const { job, replayed } = await ctx.intakeGate.run(async () => {
      const request = await parseCreateRequest(c.req.raw, deps.config.MAX_UPLOAD_BYTES);
      return createJob(ctxForCreate, principal, request, idempotencyKey);
    });
    const source = job.input?.source ?? 'upload';
    c.get('log').info({ job_id: job.id, replayed, source }, 'job accepted');
    deps.metrics?.jobAccepted(source, replayed);
    const location = `${ctx.baseUrl}/v1/jobs/${job.id}`;
    c.header('Location', location);
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(jobView(job, ctx.baseUrl), 202);
  });

  app.get('/v1/jobs', async (c) => {
    const parsed = ListQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw validationProblem(parsed.error, ['query']);
    const q = parsed.data;
    const page = await listJobs(deps.store, c.get('principal').tenant, {
      limit: q.limit,
      ...(q.after ? { after: q.after } : {}),
      ...(q.created_after ? { createdAfter: new Date(q.created_after) } : {}),
      ...(q.status ? { status: q.status } : {}),
    });
    c.header('Cache-Control', 'no-store');
    return c.json({
      object: 'list',
      data: page.jobs.map((j) => jobView(j, ctx.baseUrl)),
      has_more: page.hasMore,
      next_cursor: page.nextCursor ?? null,
    });
  });

  app.get('/v1/jobs/:id', async (c) => {
    const id = jobIdParam(c);
    const tenant = c.get('principal').tenant;
    const wait = preferredWait(c.req.header('prefer'));
    let found = await ctx.repo.get(tenant, id);
    if (!found) throw new ProblemError('not_found', 'No such job.');
    if (wait !== null) {
      const deadline = Date.now() + wait * 1000;
      const signal = c.req.raw.signal;
      while (!isTerminal(found.job.status) && Date.now() < deadline && !signal.aborted) {
        await sleepUnlessAborted(Math.min(deps.config.WAIT_POLL_MS, deadline - Date.now()), signal);
        // A failed or stuck re-read mid-wait (store blip) is not worth failing the request: keep the last good
        // version and try again at the next tick.
        const reread = ctx.repo.get(tenant, id).catch(() => null);
        found = (await Promise.race([reread, sleepUnlessAborted(REREAD_TIMEOUT_MS, signal).then(() => null)])) ?? found;
      }
      c.header('Preference-Applied', `wait=${wait}`);
    }
    const etag = `"${found.etag}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', 'no-store');
    if (!isTerminal(found.job.status)) c.header('Retry-After', '2');
    // Cheap polling: an unchanged record answers 304 without a body.
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return c.json(jobView(found.job, ctx.baseUrl));
  });

  app.post('/v1/jobs/:id/cancel', async (c) => {
    const id = jobIdParam(c);
    const res = await cancelJob(
      { repo: ctx.repo, store: deps.store, webhookQueue: deps.webhookQueue },
      c.get('principal').tenant,
      id,
      ctx.now(),
    );
    if (!res) throw new ProblemError('not_found', 'No such job.');
    c.get('log').info({ job_id: id, outcome: res.outcome }, 'cancel');
    return c.json(jobView(res.job, ctx.baseUrl), res.outcome === 'canceled' ? 200 : 202);
  });
}
