/**
 * The object-store port. Both deployables talk to storage only through this, so the S3 adapter can be swapped
 * (R2, MinIO, the local s3rver) and the semantics tested once.
 */
export interface PutOptions {
  contentType?: string;
  /** `'*'`: create only if the key does not exist. */
  ifNoneMatch?: '*';
  /** Replace only if the current ETag equals this one (optimistic concurrency). */
  ifMatch?: string;
  cacheControl?: string;
}

export interface ObjectHead {
  key: string;
  etag: string;
  size: number;
  contentType?: string;
  lastModified?: Date;
}

export interface StoredObject extends ObjectHead {
  body: Uint8Array;
}

export interface ListOptions {
  /** Return keys strictly after this one (S3 `StartAfter`). */
  startAfter?: string;
  continuationToken?: string;
  maxKeys?: number;
}

export interface ListPage {
  items: ObjectHead[];
  /** Present when more keys follow. */
  continuationToken?: string;
}

/**
 * How the store enforces `ifNoneMatch` / `ifMatch`:
 * - `native`: the store checks the precondition atomically (AWS S3 since 2024, R2, MinIO, our local server);
 * - `emulated`: the adapter checks with a HEAD first. Safe against sequential retries, not against two writers racing
 *   within milliseconds; use only with stores that lack conditional writes and say so in the deployment.
 */
export type ConditionalWriteMode = 'native' | 'emulated';

export interface ObjectStore {
  readonly conditionalWrites: ConditionalWriteMode;
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectHead | null>;
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  delete(key: string): Promise<void>;
  /** Cheap reachability check for health endpoints. */
  ping(): Promise<void>;
}

/** The precondition of a conditional write did not hold (the key exists, or its ETag changed). */
export class PreconditionFailedError extends Error {
  constructor(readonly key: string) {
    super(`precondition failed for ${key}`);
    this.name = 'PreconditionFailedError';
  }
}

/** The store could not be reached or answered 5xx: retry later; never the client's fault. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

const decoder = new TextDecoder();

export async function getJson<T>(
  store: ObjectStore,
  key: string,
  parse: (v: unknown) => T,
): Promise<{ value: T; etag: string } | null> {
  const obj = await store.get(key);
  if (!obj) return null;
  return { value: parse(JSON.parse(decoder.decode(obj.body))), etag: obj.etag };
}

export async function putJson(
  store: ObjectStore,
  key: string,
  value: unknown,
  options: PutOptions = {},
): Promise<{ etag: string }> {
  return store.put(key, JSON.stringify(value), { contentType: 'application/json', ...options });
}
