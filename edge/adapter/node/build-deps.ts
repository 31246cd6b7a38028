import pino from 'pino';
import { createAwsClients } from '../../../shared/aws/clients.ts';
import { ProblemError } from '../../../shared/errors/problem.ts';
import { createImageFetcher as createSharedImageFetcher } from '../../../shared/net/image-fetch.ts';
import { assertPublicUrl, type Resolver } from '../../../shared/net/ssrf.ts';
import type { EdgeConfig } from '../../config.ts';
import { SharpImageProcessor } from '../../image/sharp-image-processor.ts';
import type { EdgeLogger } from '../../logger.ts';
import type { EdgeDeps, ImageFetcher } from '../../ports.ts';

export function createLogger(config: EdgeConfig): EdgeLogger {
  return pino({
    level: config.LOG_LEVEL,
    base: { service: 'edge' },
    // Belt and braces: the app never logs headers, but nothing that looks like a credential may pass.
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', 'secret', '*.secret'],
      remove: true,
    },
  });
}

/** Test seam: a DNS resolver to use instead of the system's (so tests can make a name resolve to a private address). */
export interface NetOptions {
  resolve?: Resolver;
}

/** `image_url` ingest on Node: SSRF-checked, pinned, size- and time-capped. */
export function createImageFetcher(config: EdgeConfig, net: NetOptions = {}): ImageFetcher {
  return createSharedImageFetcher({
    timeoutMs: config.IMAGE_FETCH_TIMEOUT_MS,
    maxRedirects: config.IMAGE_FETCH_MAX_REDIRECTS,
    allowPrivateHosts: config.ALLOW_PRIVATE_TARGETS ?? [],
    ...(net.resolve ? { resolve: net.resolve } : {}),
  });
}

export function createWebhookUrlCheck(config: EdgeConfig, net: NetOptions = {}): (url: string) => Promise<void> {
  return async (url) => {
    try {
      await assertPublicUrl(url, { ...net, allowPrivateHosts: config.ALLOW_PRIVATE_TARGETS ?? [] });
    } catch (err) {
      if (err instanceof ProblemError && err.code === 'url_not_allowed')
        throw new ProblemError('url_not_allowed', `webhook: ${err.message}`);
      if (err instanceof ProblemError)
        throw new ProblemError('validation_failed', 'One or more fields are invalid.', {
          errors: [{ path: 'webhook', message: 'the host could not be resolved' }],
        });
      throw err;
    }
  };
}

/** Deps for the Node server and the Lambda handler: AWS SDK adapters, sharp, pino, SSRF-safe fetch. */
export function buildNodeDeps(config: EdgeConfig, overrides: Partial<EdgeDeps> = {}): EdgeDeps & { close(): void } {
  const aws = createAwsClients(config);
  return {
    store: aws.store,
    jobQueue: aws.queue(config.JOB_QUEUE_URL),
    webhookQueue: aws.queue(config.WEBHOOK_QUEUE_URL),
    ...(config.BATCH_QUEUE_URL ? { batchQueue: aws.queue(config.BATCH_QUEUE_URL) } : {}),
    images: new SharpImageProcessor(),
    config,
    logger: createLogger(config),
    fetchImage: createImageFetcher(config),
    checkWebhookUrl: createWebhookUrlCheck(config),
    ...overrides,
    close: () => aws.destroy(),
  };
}
