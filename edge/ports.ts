import type { JobQueue } from '../shared/ports/job-queue.ts';
import type { ObjectStore } from '../shared/ports/object-store.ts';
import type { EdgeConfig } from './config.ts';
import type { ImageProcessor } from './image/image-processor.ts';
import type { EdgeLogger } from './logger.ts';
import type { EdgeMetrics } from './metrics.ts';

/** Fetches a remote image for `image_url`, refusing private targets; throws ProblemError on refusal or failure. */
export type ImageFetcher = (url: string, options: { maxBytes: number }) => Promise<Uint8Array>;

/** Everything the edge app needs from its runtime; each runtime entry builds these and nothing else. */
export interface EdgeDeps {
  store: ObjectStore;
  jobQueue: JobQueue;
  webhookQueue: JobQueue;
  /** The batch queue (intake and items); without it `POST /v1/batches` answers 503 batches_unavailable. */
  batchQueue?: JobQueue;
  images: ImageProcessor;
  config: EdgeConfig;
  logger: EdgeLogger;
  metrics?: EdgeMetrics;
  clock?: () => Date;
  /** Remote `image_url` ingest; without it such requests get 422 image_fetch_failed. */
  fetchImage?: ImageFetcher;
  /** Refuses webhook URLs that point at private addresses (throws ProblemError url_not_allowed). */
  checkWebhookUrl?: (url: string) => Promise<void>;
}
