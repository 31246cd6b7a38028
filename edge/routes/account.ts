import type { Hono } from 'hono';
import { z } from 'zod';
import { utcDay } from '../../shared/storage/keys.ts';
import { deriveWebhookSecret } from '../../shared/webhooks/signing.ts';
import type { AppContext, EdgeEnv } from '../context.ts';
import { validationProblem } from '../http/problem-response.ts';
import { EVENT_ID, readEvents } from '../jobs/events-feed.ts';
import { daysBetween, MAX_USAGE_DAYS, summarizeUsage } from '../jobs/usage-summary.ts';

/** `from`/`to` are inclusive UTC days; both default to today. */
const usageQuerySchema = (today: string) =>
  z.object({ from: z.iso.date().optional(), to: z.iso.date().optional() }).transform((q, zctx) => {
    const to = q.to ?? today;
    const from = q.from ?? to;
    if (from > to) zctx.addIssue({ code: 'custom', path: ['from'], message: 'from must not be after to' });
    else if (daysBetween(from, to).length > MAX_USAGE_DAYS)
      zctx.addIssue({ code: 'custom', path: ['to'], message: `the range may span at most ${MAX_USAGE_DAYS} days` });
    return { from, to };
  });

const EventsQuerySchema = z.object({
  after: z.string().regex(EVENT_ID, 'not an event id').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export function registerAccountRoutes(app: Hono<EdgeEnv>, ctx: AppContext): void {
  const { deps } = ctx;

  app.get('/v1/usage', async (c) => {
    const parsed = usageQuerySchema(utcDay(ctx.now())).safeParse(c.req.query());
    if (!parsed.success) throw validationProblem(parsed.error, ['query']);
    const { from, to } = parsed.data;
    const tenant = c.get('principal').tenant;
    const tenantKeys = deps.config.API_KEYS.filter((k) => k.tenant === tenant).map((k) => k.id);
    const data = await summarizeUsage(deps.store, tenant, from, to, tenantKeys);
    c.header('Cache-Control', 'no-store');
    return c.json({ object: 'usage', from, to, data });
  });

  app.get('/v1/events', async (c) => {
    const parsed = EventsQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw validationProblem(parsed.error, ['query']);
    const page = await readEvents(deps.store, c.get('principal').tenant, parsed.data.after, parsed.data.limit);
    c.header('Cache-Control', 'no-store');
    return c.json({ object: 'list', data: page.events, has_more: page.hasMore, next_cursor: page.nextCursor });
  });

  app.get('/v1/webhook-secret', async (c) => {
    const { keyId } = c.get('principal');
    const secret = await deriveWebhookSecret(deps.config.WEBHOOK_SIGNING_KEY, keyId);
    c.header('Cache-Control', 'no-store');
    return c.json({ object: 'webhook_secret', api_key_id: keyId, secret });
  });
}
