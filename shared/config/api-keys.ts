import { sha256Hex } from '../crypto/sha256.ts';
import { TENANT_ID_PATTERN } from '../ids.ts';

/**
 * API keys are configured as `API_KEYS=<key_id>:<tenant>:<sha256 hex of the key>[,...]`: the deployment stores only
 * hashes, never the keys. A key is `yvl_` followed by random characters; its holder sees only its tenant's jobs.
 */
export interface ApiKeyEntry {
  id: string;
  tenant: string;
  sha256: string;
}

export function parseApiKeys(value: string): ApiKeyEntry[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('API_KEYS lists no keys');
  return entries.map((entry, i) => {
    const [id, tenant, sha256, ...rest] = entry.split(':');
    if (!id || !tenant || !sha256 || rest.length > 0)
      throw new Error(`API_KEYS entry ${i + 1}: expected key_id:tenant:sha256`);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`API_KEYS entry ${i + 1}: key id may use A-Z a-z 0-9 _ -`);
    if (!TENANT_ID_PATTERN.test(tenant))
      throw new Error(`API_KEYS entry ${i + 1}: tenant must match ${TENANT_ID_PATTERN}`);
    if (!/^[0-9a-f]{64}$/.test(sha256))
      throw new Error(`API_KEYS entry ${i + 1}: sha256 must be 64 lowercase hex digits`);
    return { id, tenant, sha256 };
  });
}

export function generateApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `yvl_${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export async function apiKeyEntry(id: string, tenant: string, key: string): Promise<string> {
  return `${id}:${tenant}:${await sha256Hex(key)}`;
}
