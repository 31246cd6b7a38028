/**
 * Cold-start secret loading for the edge on Lambda. For every `NAME_SECRET_ARN` variable, reads the secret through the
 * AWS Parameters and Secrets Lambda extension (a local HTTP cache, authenticated by the session token) and sets
 * `NAME`, so the edge reads `API_KEYS` / `WEBHOOK_SIGNING_KEY` as it does everywhere else. Secret values never appear
 * in the function's configuration, and an error names the variable, never the value.
 */
export type MutableEnv = Record<string, string | undefined>;

const SUFFIX = '_SECRET_ARN';

export interface LoadSecretsOptions {
  /** Defaults to the extension's port variable, else 2773. */
  port?: number;
  attempts?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

export class SecretLoadError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`could not load ${variable} from Secrets Manager: ${detail}`);
    this.name = 'SecretLoadError';
  }
}

export function secretVariables(env: MutableEnv): { name: string; secretId: string }[] {
  return Object.entries(env)
    .filter(([key, value]) => key.endsWith(SUFFIX) && key.length > SUFFIX.length && value)
    .map(([key, value]) => ({ name: key.slice(0, -SUFFIX.length), secretId: value as string }))
    .filter(({ name }) => !env[name]);
}

async function fetchSecret(secretId: string, name: string, env: MutableEnv, opts: LoadSecretsOptions): Promise<string> {
  const port = opts.port ?? Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? 2773);
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`;
  const attempts = opts.attempts ?? 3;
  let detail = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(url, {
        headers: { 'X-Aws-Parameters-Secrets-Token': env.AWS_SESSION_TOKEN ?? '' },
        signal: AbortSignal.timeout(opts.timeoutMs ?? 2000),
      });
      if (res.ok) {
        const body = (await res.json()) as { SecretString?: unknown };
        if (typeof body.SecretString !== 'string' || body.SecretString === '') {
          throw new SecretLoadError(name, 'the secret has no string value');
        }
        return body.SecretString;
      }
      detail = `extension answered ${res.status}`;
      // 4xx other than throttling will not get better by retrying.
      if (res.status >= 400 && res.status < 500 && res.status !== 429) break;
    } catch (err) {
      if (err instanceof SecretLoadError) throw err;
      detail = (err as Error).name === 'TimeoutError' ? 'extension timed out' : 'extension unreachable';
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, (opts.retryDelayMs ?? 100) * attempt));
  }
  throw new SecretLoadError(name, detail);
}

/** Loads every `NAME_SECRET_ARN` whose `NAME` is unset (an explicit value wins, e.g. in a test). Returns the names. */
export async function loadSecretsIntoEnv(env: MutableEnv, opts: LoadSecretsOptions = {}): Promise<string[]> {
  const wanted = secretVariables(env);
  const values = await Promise.all(wanted.map(({ name, secretId }) => fetchSecret(secretId, name, env, opts)));
  wanted.forEach(({ name }, i) => {
    env[name] = values[i];
  });
  return wanted.map((w) => w.name);
}
