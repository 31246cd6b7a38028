import type { ApiKeyEntry } from '../../shared/config/api-keys.ts';
import { constantTimeEqual } from '../../shared/crypto/constant-time.ts';
import { sha256Hex } from '../../shared/crypto/sha256.ts';

export interface Principal {
  keyId: string;
  tenant: string;
}

const BEARER = /^Bearer[ \t]+([\x21-\x7e]{1,512})[ \t]*$/i;

/**
 * Resolves an `Authorization: Bearer <key>` header to the key's id and tenant, or null. The key is hashed and
 * compared with every configured hash (no early exit), so neither which entry matched nor how much of it leaks.
 */
export function createAuthenticator(entries: readonly ApiKeyEntry[]) {
  return async function authenticate(header: string | undefined | null): Promise<Principal | null> {
    const match = header ? BEARER.exec(header) : null;
    if (!match) return null;
    const hash = await sha256Hex(match[1]!);
    let found: ApiKeyEntry | null = null;
    for (const entry of entries) if (constantTimeEqual(hash, entry.sha256)) found = entry;
    return found && { keyId: found.id, tenant: found.tenant };
  };
}
