import { JobRepository } from '../shared/jobs/job-repository.ts';
import type { Principal } from './http/auth.ts';
import { createAuthenticator } from './http/auth.ts';
import { IntakeGate } from './http/intake-gate.ts';
import { TokenBucketLimiter } from './http/rate-limit.ts';
import { IdempotencyStore } from './jobs/idempotency.ts';
import { QueueGate } from './jobs/queue-gate.ts';
import type { EdgeLogger } from './logger.ts';
import type { EdgeDeps } from './ports.ts';

/** Hono's per-request variables for the edge app. */
export type EdgeEnv = {
  Variables: {
    requestId: string;
    log: EdgeLogger;
    principal: Principal;
  };
};

/** Long-lived collaborators built once per app from its deps. */
export interface AppContext {
  deps: EdgeDeps;
  repo: JobRepository;
  idempotency: IdempotencyStore;
  queueGate: QueueGate;
  intakeGate: IntakeGate;
  limiter: TokenBucketLimiter;
  authenticate: ReturnType<typeof createAuthenticator>;
  now: () => Date;
  /** Absolute base for links, or '' for relative links. */
  baseUrl: string;
}

export function createContext(deps: EdgeDeps): AppContext {
  const { config } = deps;
  return {
    deps,
    repo: new JobRepository(deps.store),
    idempotency: new IdempotencyStore(deps.store, {
      ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      lockSeconds: config.IDEMPOTENCY_LOCK_SECONDS,
    }),
    queueGate: new QueueGate(deps.jobQueue, config.MAX_QUEUE_DEPTH, config.QUEUE_DEPTH_CACHE_MS),
    intakeGate: new IntakeGate(config.MAX_CONCURRENT_UPLOADS),
    limiter: new TokenBucketLimiter(config.RATE_LIMIT_PER_MINUTE),
    authenticate: createAuthenticator(config.API_KEYS),
    now: deps.clock ?? (() => new Date()),
    baseUrl: (config.PUBLIC_BASE_URL ?? '').replace(/\/+$/, ''),
  };
}
