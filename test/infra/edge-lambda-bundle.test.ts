// The real edge, bundled for Lambda by infra/scripts/build-edge.ts, started in a bare folder and invoked with
// Function URL events against the local S3/SQS servers. Its secrets come through a loopback stand-in for the
// Parameters and Secrets extension, as on Lambda, so this proves the bundle, the secret loading and the env wiring.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildEdgeBundle } from '../../infra/scripts/build-edge.ts';
import { apiKeyEntry, generateApiKey } from '../../shared/config/api-keys.ts';
import { deriveWebhookSecret } from '../../shared/webhooks/signing.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

const work = mkdtempSync(join(tmpdir(), 'edge-lambda-'));
const apiKey = generateApiKey();
const signingKey = 'm'.repeat(48);
let aws: LocalAws;
let extension: Server;
let bundle = '';
let env: Record<string, string> = {};

before(async () => {
  aws = await startLocalAws();
  const secrets: Record<string, string> = {
    'arn:keys': await apiKeyEntry('key1', 'acme', apiKey),
    'arn:sign': signingKey,
  };
  extension = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('secretId') ?? '';
    const ok = req.headers['x-aws-parameters-secrets-token'] === 'session' && id in secrets;
    res.writeHead(ok ? 200 : 400).end(ok ? JSON.stringify({ SecretString: secrets[id] }) : '');
  });
  await new Promise<void>((r) => extension.listen(0, '127.0.0.1', r));
  ({ bundle } = await buildEdgeBundle({ outDir: join(work, 'bundle') }));
  env = {
    PATH: process.env.PATH ?? '',
    ...aws.env,
    AWS_SESSION_TOKEN: 'session',
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
    API_KEYS_SECRET_ARN: 'arn:keys',
    WEBHOOK_SIGNING_KEY_SECRET_ARN: 'arn:sign',
    LOG_LEVEL: 'silent',
  };
});
after(async () => {
  await new Promise<void>((r) => extension.close(() => r()));
  await aws.close();
  rmSync(work, { recursive: true, force: true });
});

interface LambdaResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Cold-starts the bundle in a child process (cwd outside the repo) and sends it one Function URL (v2) event. */
async function invoke(path: string, headers: Record<string, string> = {}): Promise<LambdaResult> {
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'abc.lambda-url.us-east-1.on.aws', ...headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abc',
      domainName: 'abc.lambda-url.us-east-1.on.aws',
      domainPrefix: 'abc',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_795_000_000_000,
    },
    isBase64Encoded: false,
  };
  const eventFile = join(work, `event-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(eventFile, JSON.stringify(event));
  const script = [
    `const { handler } = await import(${JSON.stringify(bundle)});`,
    `const event = JSON.parse(await (await import('node:fs/promises')).readFile(${JSON.stringify(eventFile)}, 'utf8'));`,
    `process.stdout.write('RESULT ' + JSON.stringify(await handler(event, {})) + '\\n');`,
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: work,
    env,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  assert.ok(line, `no result in: ${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as LambdaResult;
}

describe('edge Lambda bundle (local S3/SQS)', () => {
  test('cold-starts from the bundle alone and reaches S3 and SQS', async () => {
    const res = await invoke('/healthz');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual((JSON.parse(res.body) as { checks: unknown }).checks, { s3: 'ok', sqs: 'ok' });
  });

  test('API_KEYS and WEBHOOK_SIGNING_KEY arrive through the extension', async () => {
    const unauthorised = await invoke('/v1/webhook-secret');
    assert.equal(unauthorised.statusCode, 401);
    const res = await invoke('/v1/webhook-secret', { authorization: `Bearer ${apiKey}` });
    assert.equal(res.statusCode, 200, res.body);
    const body = JSON.parse(res.body) as { api_key_id: string; secret: string };
    assert.equal(body.api_key_id, 'key1');
    assert.equal(body.secret, await deriveWebhookSecret(signingKey, 'key1'));
  });
});
