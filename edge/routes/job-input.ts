import type { Hono } from 'hono';
import { ProblemError } from '../../shared/errors/problem.ts';
import { isJobId } from '../../shared/ids.ts';
import type { AppContext, EdgeEnv } from '../context.ts';

/**
 * A job's input never changes, so a browser may keep it; `private` because only the tenant's keys may see it. An hour
 * keeps a cached copy well inside the `inputs/` lifecycle window.
 */
export const INPUT_CACHE_CONTROL = 'private, max-age=3600';

const EXPIRED = 'The model input of this job is no longer stored: inputs expire under the inputs/ lifecycle rule.';

/** `GET /v1/jobs/{id}/input`: the preprocessed 448×448 PNG the model received ("what the model saw"). */
export function registerJobInputRoute(app: Hono<EdgeEnv>, ctx: AppContext): void {
  app.get('/v1/jobs/:id/input', async (c) => {
    const id = c.req.param('id');
    if (!isJobId(id)) throw new ProblemError('not_found', 'No such job.');
    const found = await ctx.repo.get(c.get('principal').tenant, id);
    if (!found) throw new ProblemError('not_found', 'No such job.');
    // A follow-up job points at its root's stored input, so this is the image every round of a conversation saw.
    if (!found.job.input) throw new ProblemError('not_found', 'This batch item’s image has not been prepared yet.');
    const { key, prepared_by } = found.job.input;
    // Only the model input is served: an upload the worker prepares is kept as sent, and the worker does not store
    // what it made of it.
    if (prepared_by === 'worker') {
      throw new ProblemError(
        'not_found',
        'This job’s model input is prepared by the worker from the upload and is not stored.',
      );
    }
    const headers: Record<string, string> = {
      'Content-Type': 'image/png',
      'Cache-Control': INPUT_CACHE_CONTROL,
      'X-Content-Type-Options': 'nosniff',
    };
    const conditional = c.req.header('if-none-match');
    if (conditional) {
      const head = await ctx.deps.store.head(key);
      if (!head) throw new ProblemError('not_found', EXPIRED);
      const etag = `"${head.etag.replace(/"/g, '')}"`;
      if (conditional === etag) return c.body(null, 304, { ...headers, ETag: etag });
    }
    const obj = await ctx.deps.store.get(key);
    if (!obj) throw new ProblemError('not_found', EXPIRED);
    return c.body(obj.body as Uint8Array<ArrayBuffer>, 200, {
      ...headers,
      ETag: `"${obj.etag.replace(/"/g, '')}"`,
      'Content-Length': String(obj.body.byteLength),
    });
  });
}
