import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { ProblemError } from '../../shared/errors/problem.ts';
import { getJson, type ObjectStore, PreconditionFailedError, putJson } from '../../shared/ports/object-store.ts';
import { type IdempotencyRecord, IdempotencyRecordSchema } from '../../shared/schemas/usage.ts';
import { keys } from '../../shared/storage/keys.ts';

/** `Idempotency-Key` is an sf-string (`"abc"`); bare tokens, as most clients send them, are accepted too. */
export function parseIdempotencyKey(header: string | undefined | null): string | null {
  if (header === undefined || header === null) return null;
  const trimmed = header.trim();
  const value = /^".*"$/.test(trimmed) ? trimmed.slice(1, -1).replace(/\\(["\\])/g, '$1') : trimmed;
  if (!/^[\x20-\x7e]{1,255}$/.test(value))
    throw new ProblemError('malformed_request', 'Idempotency-Key must be 1–255 printable ASCII characters.');
  return value;
}

/** Keys are scoped to the API key that sent them, and stored hashed. */
export function idempotencyKeyHash(apiKeyId: string, key: string): Promise<string> {
  return sha256Hex(`${apiKeyId}\n${key}`);
}

export type Claim =
  /** First use of the key: this request owns it and creates `record.job_id`. */
  | { kind: 'new'; record: IdempotencyRecord; etag: string }
  /** The earlier request finished its writes: answer with its job. */
  | { kind: 'complete'; record: IdempotencyRecord; etag: string }
  /** The earlier request died half-way (its lock expired): this retry takes over and completes the same job. */
  | { kind: 'resume'; record: IdempotencyRecord; etag: string };

export interface IdempotencySettings {
  ttlSeconds: number;
  lockSeconds: number;
}

const parse = (v: unknown) => IdempotencyRecordSchema.parse(v);

/**
 * Idempotency records (IETF draft-ietf-httpapi-idempotency-key-header semantics), one object per (API key, key),
 * guarded by conditional writes so that two racing requests cannot both own a key.
 */
export class IdempotencyStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly settings: IdempotencySettings,
  ) {}

  async claim(tenant: string, keyHash: string, fingerprint: string, jobId: string, now: Date): Promise<Claim> {
    const key = keys.idempotency(tenant, keyHash);
    for (let attempt = 0; attempt < 4; attempt++) {
      const current = await getJson(this.store, key, parse);
      try {
        if (!current || Date.parse(current.value.expires_at) <= now.getTime()) {
          const record = this.pending(keyHash, fingerprint, jobId, now);
          const { etag } = await putJson(
            this.store,
            key,
            record,
            current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
          );
          return { kind: 'new', record, etag };
        }
        const existing = current.value;
        if (existing.request_fingerprint !== fingerprint)
          throw new ProblemError(
            'idempotency_key_reused',
            'This Idempotency-Key was already used with a different request.',
          );
        if (existing.state === 'complete') return { kind: 'complete', record: existing, etag: current.etag };
        const lockedFor = Date.parse(existing.created_at) + this.settings.lockSeconds * 1000 - now.getTime();
        if (lockedFor > 0)
          throw new ProblemError(
            'idempotency_in_progress',
            'A request with this Idempotency-Key is still being processed.',
            {},
            { 'Retry-After': String(Math.max(1, Math.ceil(lockedFor / 1000))) },
          );
        const record = { ...existing, created_at: now.toISOString() };
        const { etag } = await putJson(this.store, key, record, { ifMatch: current.etag });
        return { kind: 'resume', record, etag };
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        // Another request wrote the record between our read and write: read again and decide anew.
      }
    }
    throw new ProblemError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed.');
  }

  /** Takes a completed record whose job vanished back into this request's hands (CAS on its ETag). */
  async reclaim(tenant: string, claim: Claim, now: Date): Promise<Claim> {
    const record: IdempotencyRecord = { ...claim.record, state: 'pending', created_at: now.toISOString() };
    try {
      const { etag } = await putJson(this.store, keys.idempotency(tenant, claim.record.key_hash), record, {
        ifMatch: claim.etag,
      });
      return { kind: 'resume', record, etag };
    } catch (err) {
      if (err instanceof PreconditionFailedError)
        throw new ProblemError('idempotency_in_progress', 'A request with this Idempotency-Key is being processed.');
      throw err;
    }
  }

  async complete(tenant: string, claim: Claim): Promise<void> {
    const record: IdempotencyRecord = { ...claim.record, state: 'complete' };
    await putJson(this.store, keys.idempotency(tenant, claim.record.key_hash), record, { ifMatch: claim.etag });
  }

  /** Forgets the key (after a client error, or to undo a failed create) so a retry starts afresh. */
  async release(tenant: string, keyHash: string): Promise<void> {
    await this.store.delete(keys.idempotency(tenant, keyHash));
  }

  private pending(keyHash: string, fingerprint: string, jobId: string, now: Date): IdempotencyRecord {
    return {
      key_hash: keyHash,
      request_fingerprint: fingerprint,
      job_id: jobId,
      state: 'pending',
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.settings.ttlSeconds * 1000).toISOString(),
    };
  }
}
