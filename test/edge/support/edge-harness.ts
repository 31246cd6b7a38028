/**
 * Builds the edge app over real loopback S3/SQS servers, with two tenants' API keys and a log capture, so suites can
 * drive it with `app.request` (or through a real HTTP server) and inspect what reached storage, queues and logs.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createImageFetcher, createWebhookUrlCheck } from '../../../edge/adapter/node/build-deps.ts';
import { createApp } from '../../../edge/app.ts';
import { type EdgeConfig, parseEdgeConfig } from '../../../edge/config.ts';
import { SharpImageProcessor } from '../../../edge/image/sharp-image-processor.ts';
import type { EdgeDeps } from '../../../edge/ports.ts';
import { apiKeyEntry } from '../../../shared/config/api-keys.ts';
import { type LocalAws, type LocalAwsOptions, startLocalAws } from '../../support/local-aws.ts';

export const KEYS = {
  acme: 'yvl_acme_test_key_0123456789abcdef',
  acme2: 'yvl_acme_second_key_0123456789abcd',
  globex: 'yvl_globex_test_key_0123456789abcd',
} as const;
export const SIGNING_KEY = 'test-master-signing-key-0123456789';

export interface EdgeHarness {
  aws: LocalAws;
  config: EdgeConfig;
  deps: EdgeDeps;
  app: ReturnType<typeof createApp>;
  logs: string[];
  /** `app.request` with the given API key (null: no Authorization header). */
  call(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  /** Another app over the same servers with some settings changed. */
  variant(
    env: Record<string, string>,
  ): Promise<(path: string, init?: RequestInit & { key?: string | null }) => Promise<Response>>;
  close(): Promise<void>;
}

export async function apiKeysEnv(): Promise<string> {
  return [
    await apiKeyEntry('key_acme', 'acme', KEYS.acme),
    await apiKeyEntry('key_acme2', 'acme', KEYS.acme2),
    await apiKeyEntry('key_globex', 'globex', KEYS.globex),
  ].join(',');
}

export async function edgeEnv(aws: LocalAws, env: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    ...aws.env,
    API_KEYS: await apiKeysEnv(),
    WEBHOOK_SIGNING_KEY: SIGNING_KEY,
    LOG_LEVEL: 'debug',
    WAIT_POLL_MS: '50',
    ALLOW_PRIVATE_TARGETS: '127.0.0.1,localhost',
    ...env,
  };
}

export async function startEdgeHarness(
  options: { env?: Record<string, string>; aws?: LocalAwsOptions; overrides?: Partial<EdgeDeps> } = {},
): Promise<EdgeHarness> {
  const aws = await startLocalAws(options.aws);
  const config = parseEdgeConfig(await edgeEnv(aws, options.env));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const deps: EdgeDeps = {
    store: aws.store,
    jobQueue: aws.jobQueue,
    webhookQueue: aws.webhookQueue,
    batchQueue: aws.batchQueue,
    images: new SharpImageProcessor(),
    config,
    logger: pino({ level: 'debug' }, sink),
    fetchImage: createImageFetcher(config),
    checkWebhookUrl: createWebhookUrlCheck(config),
    ...options.overrides,
  };
  const app = createApp(deps);
  const caller =
    (a: ReturnType<typeof createApp>) =>
    (path: string, init: RequestInit & { key?: string | null } = {}) => {
      const { key = KEYS.acme, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null) headers.set('authorization', `Bearer ${key}`);
      return Promise.resolve(a.request(path, { ...rest, headers }));
    };
  return {
    aws,
    config,
    deps,
    app,
    logs,
    call: caller(app),
    async variant(env) {
      const cfg = parseEdgeConfig(await edgeEnv(aws, { ...options.env, ...env }));
      return caller(createApp({ ...deps, config: cfg }));
    },
    close: () => aws.close(),
  };
}
