import { z } from 'zod';
import { type ApiKeyEntry, parseApiKeys } from '../shared/config/api-keys.ts';
import { awsEnvShape, type Env, envVar, logEnvShape, parseEnv, webhookSigningKeyVar } from '../shared/config/env.ts';
import { parseAllowList } from '../shared/net/address-policy.ts';

const MIB = 1024 * 1024;

export const edgeEnvShape = {
  ...awsEnvShape,
  ...logEnvShape,
  WEBHOOK_QUEUE_URL: envVar.url('SQS queue URL of the webhook delivery queue'),
  API_KEYS: z
    .string()
    .transform((v, ctx): ApiKeyEntry[] => {
      try {
        return parseApiKeys(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .describe('comma-separated key_id:tenant:sha256hex entries'),
  WEBHOOK_SIGNING_KEY: webhookSigningKeyVar,
  MAX_UPLOAD_BYTES: envVar.int('largest accepted image in bytes', 20 * MIB, 1024, 100 * MIB),
  MAX_PIXELS: envVar.int('largest accepted image area in pixels (after orientation)', 50_000_000, 1, 500_000_000),
  MAX_SIDE: envVar.int('largest accepted image side in pixels', 16_384, 1, 65_535),
  WORKERS_MAX_PIXELS: envVar.int(
    'Workers only: largest image the isolate decodes itself (WebAssembly codecs); larger ones are prepared by the worker',
    6_000_000,
    1,
    500_000_000,
  ),
  QUEUE_TTL_SECONDS: envVar.int('how long a job may wait for a worker before it fails', 86_400, 10, 14 * 86_400),
  RATE_LIMIT_PER_MINUTE: envVar.int('requests per minute per API key on this instance (0: off)', 600, 0),
  MAX_QUEUE_DEPTH: envVar.int('visible + delayed job messages above which creates get 429 (0: off)', 10_000, 0),
  MAX_CONCURRENT_UPLOADS: envVar.int(
    'job creates one instance processes at once; more get 429 instance_busy before their body is read (0: off)',
    32,
    0,
    10_000,
  ),
  QUEUE_DEPTH_CACHE_MS: envVar.int('how long one queue-depth reading is reused', 2_000, 0, 60_000),
  IDEMPOTENCY_TTL_SECONDS: envVar.int('how long an Idempotency-Key is remembered', 86_400, 60, 30 * 86_400),
  IDEMPOTENCY_LOCK_SECONDS: envVar.int(
    'after this long a pending Idempotency-Key is taken over by a retry (the first request died)',
    60,
    1,
    3_600,
  ),
  IMAGE_FETCH_TIMEOUT_MS: envVar.int('time limit for fetching image_url', 10_000, 100, 120_000),
  IMAGE_FETCH_MAX_REDIRECTS: envVar.int('redirects followed when fetching image_url', 3, 0, 10),
  WAIT_POLL_MS: envVar.int('how often Prefer: wait re-reads the job record', 500, 20, 5_000),
  PORT: envVar.int('HTTP port of the Node server', 8787, 0, 65_535),
  LINGER_MAX_SECONDS: envVar.int(
    'after an answer sent before the request fully arrived, how long the Node server keeps reading and discarding it before closing (0: close at once)',
    30,
    0,
    120,
  ),
  LINGER_IDLE_SECONDS: envVar.int(
    'the Node server stops that lingering sooner when nothing arrives for this long',
    5,
    1,
    60,
  ),
  LINGER_MAX_BYTES: z.coerce
    .number({ message: 'must be a whole number' })
    .int({ message: 'must be a whole number' })
    .min(0)
    .optional()
    .describe(
      'most bytes the Node server discards while lingering (default: 64 MiB or 2 × MAX_UPLOAD_BYTES, the larger)',
    ),
  METRICS_PORT: envVar.int('port of the Node server’s Prometheus /metrics listener (0: off)', 0, 0, 65_535),
  ALLOW_PRIVATE_TARGETS: z
    .string()
    .transform(parseAllowList)
    .describe('comma-separated hosts/IPs exempt from the private-address refusal (tests, local stack)')
    .optional(),
  PUBLIC_BASE_URL: envVar.url('absolute base URL used in Location and links (default: relative)').optional(),
  BATCH_QUEUE_URL: envVar
    .url('SQS queue URL of the batch queue (batch intake and batch items); unset: POST /v1/batches answers 503')
    .optional(),
  BATCH_MAX_ITEMS: envVar.int('most items (lines) in one batch', 50_000, 1, 1_000_000),
  BATCH_MAX_BYTES: envVar.int('largest batch requests file in bytes', 64 * MIB, 1024, 1024 * MIB),
  BATCH_MAX_LINE_BYTES: envVar.int(
    'largest single line of a batch requests file (a data: URL image is base64 inside its line)',
    28 * MIB,
    1024,
    1024 * MIB,
  ),
  BATCH_COMPLETION_WINDOW_SECONDS: envVar.int(
    'how long a batch’s items may wait for a worker; items not started by then fail queue_ttl_expired',
    86_400,
    60,
    14 * 86_400,
  ),
};

export const EdgeConfigSchema = z.object(edgeEnvShape);
export type EdgeConfig = z.infer<typeof EdgeConfigSchema>;

/** Parses the edge's environment; throws one ConfigError naming every missing or bad variable. */
export function parseEdgeConfig(env: Env): EdgeConfig {
  return parseEnv(EdgeConfigSchema, env);
}
