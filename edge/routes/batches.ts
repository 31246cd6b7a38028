import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { BatchRepository } from '../../shared/batches/batch-repository.ts';
import { requestCancel } from '../../shared/batches/item-states.ts';
import { collectResults } from '../../shared/batches/results.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { BATCH_ID_PATTERN, isBatchId } from '../../shared/ids.ts';
import { BatchStatusSchema, isBatchEnded } from '../../shared/schemas/batch.ts';
import { encodeBatchIntakeMessage } from '../../shared/schemas/queue-message.ts';
import { keys } from '../../shared/storage/keys.ts';
import { batchView } from '../batches/batch-view.ts';
import { createBatch } from '../batches/create-batch.ts';
import { listBatches } from '../batches/list-batches.ts';
import { parseBatchRequest } from '../batches/parse-batch.ts';
import type { AppContext, EdgeEnv } from '../context.ts';
import { preferredWait, REREAD_TIMEOUT_MS, sleepUnlessAborted } from '../http/prefer-wait.ts';
import { validationProblem } from '../http/problem-response.ts';
import { parseIdempotencyKey } from '../jobs/idempotency.ts';

const NDJSON = 'application/x-ndjson';

const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().regex(BATCH_ID_PATTERN, 'not a batch id').optional(),
  status: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(BatchStatusSchema))
    .optional(),
});

function batchIdParam(c: Context<EdgeEnv>): string {
  const id = c.req.param('id') ?? '';
  if (!isBatchId(id)) throw new ProblemError('not_found', 'No such batch.');
  return id;
}

export function registerBatchRoutes(app: Hono<EdgeEnv>, ctx: AppContext): void {
  const { deps } = ctx;
  const batches = new BatchRepository(deps.store);

  app.post('/v1/batches', async (c) => {
    const batchQueue = deps.batchQueue;
    if (!batchQueue) throw new ProblemError('batches_unavailable', 'Batches are not enabled on this deployment.');
    const principal = c.get('principal');
    const idempotencyKey = parseIdempotencyKey(c.req.header('idempotency-key'));
    const { config } = deps;
    const log = c.get('log');
    const { batch, replayed } = await ctx.intakeGate.run(async () => {
      const request = await parseBatchRequest(c.req.raw, {
        maxItems: config.BATCH_MAX_ITEMS,
        maxBytes: config.BATCH_MAX_BYTES,
        maxLineBytes: config.BATCH_MAX_LINE_BYTES,
        maxImageBytes: config.MAX_UPLOAD_BYTES,
      });
      const createCtx = { deps, batchQueue, batches, idempotency: ctx.idempotency, log, now: ctx.now };
      return createBatch(createCtx, principal, request, idempotencyKey);
    });
    log.info({ batch_id: batch.id, items: batch.item_states.length, replayed }, 'batch accepted');
    c.header('Location', `${ctx.baseUrl}/v1/batches/${batch.id}`);
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(batchView(batch, ctx.baseUrl), 202);
  });

  app.get('/v1/batches', async (c) => {
    const parsed = ListQuerySchema.safeParse(c.req.query());
    if (!parsed.success) throw validationProblem(parsed.error, ['query']);
    const q = parsed.data;
    const page = await listBatches(deps.store, c.get('principal').tenant, {
      limit: q.limit,
      ...(q.after ? { after: q.after } : {}),
      ...(q.status ? { status: q.status } : {}),
    });
    c.header('Cache-Control', 'no-store');
    return c.json({
      object: 'list',
      data: page.batches.map((b) => batchView(b, ctx.baseUrl)),
      has_more: page.hasMore,
      next_cursor: page.nextCursor ?? null,
    });
  });

  app.get('/v1/batches/:id', async (c) => {
    const id = batchIdParam(c);
    const tenant = c.get('principal').tenant;
    const wait = preferredWait(c.req.header('prefer'));
    let found = await batches.get(tenant, id);
    if (!found) throw new ProblemError('not_found', 'No such batch.');
    if (wait !== null) {
      const deadline = Date.now() + wait * 1000;
      const signal = c.req.raw.signal;
      while (!isBatchEnded(found.batch.status) && Date.now() < deadline && !signal.aborted) {
        await sleepUnlessAborted(Math.min(deps.config.WAIT_POLL_MS, deadline - Date.now()), signal);
        // A failed or stuck re-read mid-wait keeps the last good version; the next tick tries again.
        const reread = batches.get(tenant, id).catch(() => null);
        found = (await Promise.race([reread, sleepUnlessAborted(REREAD_TIMEOUT_MS, signal).then(() => null)])) ?? found;
      }
      c.header('Preference-Applied', `wait=${wait}`);
    }
    const etag = `"${found.etag}"`;
    c.header('ETag', etag);
    c.header('Cache-Control', 'no-store');
    if (!isBatchEnded(found.batch.status)) c.header('Retry-After', '10');
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return c.json(batchView(found.batch, ctx.baseUrl));
  });

  app.post('/v1/batches/:id/cancel', async (c) => {
    const id = batchIdParam(c);
    const tenant = c.get('principal').tenant;
    const res = await batches.update(tenant, id, (b) => requestCancel(b, ctx.now().toISOString()));
    if (!res) throw new ProblemError('not_found', 'No such batch.');
    const { batch } = res;
    if (batch.status === 'completed')
      throw new ProblemError('batch_not_cancelable', 'The batch has already completed.');
    // A cancel that ended the batch (nothing was running) leaves publishing its end (results file, event, webhook)
    // to a worker: the intake message makes one do it. A repeat cancel re-sends it until the end is published.
    if (batch.status === 'canceled' && !batch.ended_notices_at && deps.batchQueue)
      await deps.batchQueue.send(encodeBatchIntakeMessage(batch.id, tenant));
    c.get('log').info({ batch_id: id, status: batch.status, changed: res.changed }, 'batch cancel');
    return c.json(batchView(batch, ctx.baseUrl), batch.status === 'canceled' ? 200 : 202);
  });

  app.get('/v1/batches/:id/results', async (c) => {
    const id = batchIdParam(c);
    const tenant = c.get('principal').tenant;
    const found = await batches.get(tenant, id);
    if (!found) throw new ProblemError('not_found', 'No such batch.');
    const { batch } = found;
    c.header('Cache-Control', 'no-store');
    c.header('Content-Type', NDJSON);
    if (isBatchEnded(batch.status)) {
      const file = await deps.store.get(keys.batchResults(tenant, id));
      if (file) {
        c.header('Batch-Results', 'complete');
        return c.body(file.body as Uint8Array<ArrayBuffer>);
      }
    }
    const results = await collectResults(deps.store, ctx.repo, batch);
    c.header('Batch-Results', results.complete && isBatchEnded(batch.status) ? 'complete' : 'partial');
    return c.body(results.jsonl);
  });
}
