import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE } from '../../shared/errors/problem.ts';
import { BATCH_ID_PATTERN, JOB_ID_PATTERN } from '../../shared/ids.ts';
import './api-schemas.ts';
import '../../shared/index.ts';

type Json = Record<string, unknown>;
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ 'application/json': { schema: ref(id) } });
const problems = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      String(code),
      {
        description: PROBLEM_DESCRIPTIONS[code] ?? 'Error',
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } },
      },
    ]),
  );
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (unparseable body, bad header)',
  401: 'Missing or invalid API key',
  404: 'No such resource for this API key’s tenant',
  409: 'Conflict (idempotency key in flight, job or batch already ended, parent not usable)',
  413: 'Upload over a byte, line or item limit (the limit is in the problem body)',
  415: 'Image format not accepted',
  422: 'Invalid fields, image or idempotency-key reuse',
  429: 'Rate limited or queue full; see Retry-After',
  503: 'Storage or queue unavailable (see Retry-After), or batches not enabled on this deployment',
};
const batchIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: BATCH_ID_PATTERN.source },
};
const jobIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: JOB_ID_PATTERN.source },
};
const common = [401, 429, 503];

/** Drops the JSON Schema document keywords zod adds, which do not belong inside an OpenAPI components map. */
function componentSchemas(): Json {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: 'output',
    unrepresentable: 'any',
  });
  const out: Json = {};
  for (const [id, schema] of Object.entries(schemas)) {
    if (id === 'JobRecord' || id === 'JobInput' || id === 'BatchRecord') continue; // internal records, never returned
    const { $schema: _s, $id: _i, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

let cached: Json | null = null;

/** The OpenAPI 3.1 document of the edge API; component schemas come from the shared zod schemas. */
export function openApiDocument(): Json {
  if (cached) return cached;
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'yi-vl-pipeline API',
      version: '1.0.0',
      description:
        'Asynchronous image analysis with Yi-VL: submit an image and a question, then poll, wait, or receive a signed webhook.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/v1/jobs': {
        post: {
          operationId: 'createJob',
          summary: 'Create a job',
          description:
            'Multipart (`image` file + fields) or JSON (`image_url` as https or base64 data: URL). `parent` asks a follow-up about an earlier succeeded job’s image. Returns 202 with the queued job and a Location header.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 255 },
              description:
                'Same key + same request → the same job (Idempotent-Replayed: true); different request → 422; first still in flight → 409. Kept 24 h.',
            },
          ],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  allOf: [
                    ref('JobCreateRequest'),
                    {
                      type: 'object',
                      properties: {
                        image: { type: 'string', contentMediaType: 'application/octet-stream' },
                        metadata: { type: 'string', description: 'JSON object of strings' },
                        response_format: {
                          type: 'string',
                          contentMediaType: 'application/json',
                          description: 'the ResponseFormat object, JSON-encoded',
                        },
                      },
                    },
                  ],
                },
              },
              'application/json': { schema: ref('JobCreateRequest') },
            },
          },
          responses: {
            '202': {
              description: 'Accepted (or replayed)',
              headers: {
                Location: { schema: { type: 'string' } },
                'Idempotent-Replayed': { schema: { type: 'string', enum: ['true'] } },
              },
              content: json('Job'),
            },
            ...problems(400, 409, 413, 415, 422, ...common),
          },
        },
        get: {
          operationId: 'listJobs',
          summary: 'List jobs, oldest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
            {
              name: 'after',
              in: 'query',
              schema: { type: 'string' },
              description: 'cursor: next_cursor of the previous page',
            },
            { name: 'created_after', in: 'query', schema: { type: 'string', format: 'date-time' } },
            { name: 'status', in: 'query', schema: { type: 'string' }, description: 'comma-separated statuses' },
          ],
          responses: {
            '200': { description: 'A page of jobs', content: json('JobList') },
            ...problems(422, ...common),
          },
        },
      },
      '/v1/jobs/{id}': {
        get: {
          operationId: 'getJob',
          summary: 'Get a job',
          parameters: [
            jobIdParam,
            {
              name: 'Prefer',
              in: 'header',
              schema: { type: 'string', example: 'wait=30' },
              description: 'wait=N (≤ 60): hold the request until the job ends or N seconds pass',
            },
          ],
          responses: {
            '200': {
              description: 'The job (in any state; with Prefer: wait, as soon as it ends or the wait runs out)',
              headers: { 'Preference-Applied': { schema: { type: 'string' } }, ETag: { schema: { type: 'string' } } },
              content: json('Job'),
            },
            '304': { description: 'Unchanged since the ETag sent in If-None-Match' },
            ...problems(404, ...common),
          },
        },
      },
      '/v1/jobs/{id}/cancel': {
        post: {
          operationId: 'cancelJob',
          summary: 'Cancel a job',
          description:
            'Queued → canceled at once (200). Running → cancel requested; the worker stops at its next check (202). Already canceled → 200. Succeeded or failed → 409.',
          parameters: [jobIdParam],
          responses: {
            '200': { description: 'Canceled', content: json('Job') },
            '202': { description: 'Cancel requested; the worker will stop the job', content: json('Job') },
            ...problems(404, 409, ...common),
          },
        },
      },
      '/v1/jobs/{id}/input': {
        get: {
          operationId: 'getJobInput',
          summary: 'The image the model saw',
          description:
            'The preprocessed 448×448 PNG the model received (after EXIF orientation, padding to a square and resizing). A follow-up returns its conversation’s image. Same tenant rules as the job. 404 once the input has expired under the inputs/ lifecycle rule.',
          parameters: [jobIdParam],
          responses: {
            '200': {
              description: 'PNG, 448×448',
              headers: {
                ETag: { schema: { type: 'string' } },
                'Cache-Control': { schema: { type: 'string', example: 'private, max-age=3600' } },
              },
              content: { 'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } } },
            },
            '304': { description: 'Unchanged since the ETag sent in If-None-Match' },
            ...problems(404, ...common),
          },
        },
      },
      '/v1/batches': {
        post: {
          operationId: 'createBatch',
          summary: 'Create a batch of image-analysis requests',
          description:
            'Multipart: a `requests` part (file or text field) of JSON Lines, one BatchRequestLine per line, plus optional `webhook`, `webhook_events` and `metadata`. The whole file is validated before anything is stored: a 422 lists the problems by line (`requests[<line>].<field>`, at most 100, with `total_errors` when there were more). Each item becomes an ordinary job with `batch_id` and `custom_id`; items run only when interactive jobs leave capacity. Returns 202 with the queued batch and a Location header.',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 255 },
              description:
                'Same key + same request → the same batch (Idempotent-Replayed: true); different request → 422; first still in flight → 409. Batch keys never collide with job keys.',
            },
          ],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['requests'],
                  properties: {
                    requests: {
                      type: 'string',
                      contentMediaType: 'application/x-ndjson',
                      description: 'JSON Lines: one BatchRequestLine object per line; blank lines are skipped',
                    },
                    webhook: { type: 'string', format: 'uri', description: 'called once when the batch ends' },
                    webhook_events: {
                      type: 'string',
                      description: 'comma-separated or repeated: batch.completed, batch.canceled (default both)',
                    },
                    metadata: { type: 'string', description: 'JSON object of strings' },
                  },
                },
                encoding: { requests: { contentType: 'application/x-ndjson, application/jsonl, text/plain' } },
              },
            },
          },
          responses: {
            '202': {
              description: 'Accepted (or replayed)',
              headers: {
                Location: { schema: { type: 'string' } },
                'Idempotent-Replayed': { schema: { type: 'string', enum: ['true'] } },
              },
              content: json('Batch'),
            },
            ...problems(400, 409, 413, 422, ...common),
          },
        },
        get: {
          operationId: 'listBatches',
          summary: 'List batches, oldest first',
          parameters: [
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
            {
              name: 'after',
              in: 'query',
              schema: { type: 'string' },
              description: 'cursor: next_cursor of the previous page',
            },
            { name: 'status', in: 'query', schema: { type: 'string' }, description: 'comma-separated statuses' },
          ],
          responses: {
            '200': { description: 'A page of batches', content: json('BatchList') },
            ...problems(422, ...common),
          },
        },
      },
      '/v1/batches/{id}': {
        get: {
          operationId: 'getBatch',
          summary: 'Get a batch with its item counts',
          parameters: [
            batchIdParam,
            {
              name: 'Prefer',
              in: 'header',
              schema: { type: 'string', example: 'wait=30' },
              description: 'wait=N (≤ 60): hold the request until the batch ends or N seconds pass',
            },
          ],
          responses: {
            '200': {
              description: 'The batch (with Prefer: wait, as soon as it ends or the wait runs out)',
              headers: {
                'Preference-Applied': { schema: { type: 'string' } },
                ETag: { schema: { type: 'string' } },
                'Retry-After': { schema: { type: 'string' }, description: 'while the batch is open' },
              },
              content: json('Batch'),
            },
            '304': { description: 'Unchanged since the ETag sent in If-None-Match' },
            ...problems(404, ...common),
          },
        },
      },
      '/v1/batches/{id}/cancel': {
        post: {
          operationId: 'cancelBatch',
          summary: 'Cancel a batch',
          description:
            'Items not started are canceled at once; running items finish. 200 when the batch ended by this (or was already canceled), 202 while running items finish (status canceling), 409 when it already completed.',
          parameters: [batchIdParam],
          responses: {
            '200': { description: 'Canceled', content: json('Batch') },
            '202': { description: 'Canceling; running items finish first', content: json('Batch') },
            ...problems(404, 409, ...common),
          },
        },
      },
      '/v1/batches/{id}/results': {
        get: {
          operationId: 'getBatchResults',
          summary: 'Results of the ended items, one JSON line each, in input order',
          parameters: [batchIdParam],
          responses: {
            '200': {
              description:
                'JSON Lines of BatchResultLine. Batch-Results: complete once the batch ended, partial before (what has ended so far).',
              headers: {
                'Batch-Results': { schema: { type: 'string', enum: ['complete', 'partial'] } },
              },
              content: { 'application/x-ndjson': { schema: ref('BatchResultLine') } },
            },
            ...problems(404, ...common),
          },
        },
      },
      '/v1/usage': {
        get: {
          operationId: 'getUsage',
          summary: 'Usage per API key of your tenant (the billing basis)',
          parameters: [
            {
              name: 'from',
              in: 'query',
              schema: { type: 'string', format: 'date' },
              description: 'first UTC day (inclusive)',
            },
            {
              name: 'to',
              in: 'query',
              schema: { type: 'string', format: 'date' },
              description: 'last UTC day (inclusive)',
            },
          ],
          responses: {
            '200': { description: 'Usage sums', content: json('UsageReport') },
            ...problems(422, ...common),
          },
        },
      },
      '/v1/events': {
        get: {
          operationId: 'listEvents',
          summary: 'Job and batch event feed, oldest first, to catch up on missed webhooks',
          parameters: [
            { name: 'after', in: 'query', schema: { type: 'string' }, description: 'event id cursor' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
          ],
          responses: { '200': { description: 'Events', content: json('EventList') }, ...problems(422, ...common) },
        },
      },
      '/v1/webhook-secret': {
        get: {
          operationId: 'getWebhookSecret',
          summary: 'The secret that signs webhooks of jobs created with this API key',
          responses: { '200': { description: 'The secret', content: json('WebhookSecret') }, ...problems(...common) },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'S3 and SQS reachability',
          security: [],
          responses: { '200': { description: 'Healthy', content: json('Health') }, ...problems(503) },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
      '/docs': {
        get: {
          operationId: 'docs',
          summary: 'Human-readable API reference',
          security: [],
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/playground': {
        get: {
          operationId: 'playground',
          summary: 'Browser playground (also at /): try the API with your key, see what the model saw',
          security: [],
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key (yvl_…)' } },
      schemas: componentSchemas(),
    },
  };
  return cached;
}
