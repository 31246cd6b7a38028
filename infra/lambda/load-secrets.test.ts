import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadSecretsIntoEnv, type SecretLoadError, secretVariables } from './load-secrets.ts';

// A loopback stand-in for the Parameters and Secrets extension's HTTP interface.
const secrets: Record<string, string> = {
  'arn:aws:secretsmanager:eu-west-1:1:secret:api-keys': 'k1:acme:' + 'a'.repeat(64),
  'arn:aws:secretsmanager:eu-west-1:1:secret:signing': 's'.repeat(64),
};
let server: Server;
let port = 0;
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers['x-aws-parameters-secrets-token'] !== 'session-token') {
      res.writeHead(401).end();
      return;
    }
    const id = url.searchParams.get('secretId') ?? '';
    if (url.pathname !== '/secretsmanager/get' || !(id in secrets)) {
      res.writeHead(400).end('{"message":"not found"}');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ ARN: id, SecretString: secrets[id] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('loadSecretsIntoEnv', () => {
  test('sets NAME from NAME_SECRET_ARN through the extension', async () => {
    const env: Record<string, string | undefined> = {
      AWS_SESSION_TOKEN: 'session-token',
      API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:api-keys',
      WEBHOOK_SIGNING_KEY_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:signing',
    };
    const loaded = await loadSecretsIntoEnv(env, { port });
    assert.deepEqual(loaded.sort(), ['API_KEYS', 'WEBHOOK_SIGNING_KEY']);
    assert.equal(env.API_KEYS, secrets['arn:aws:secretsmanager:eu-west-1:1:secret:api-keys']);
    assert.equal(env.WEBHOOK_SIGNING_KEY, 's'.repeat(64));
  });

  test('an explicit value wins and is not fetched', async () => {
    const env = { API_KEYS: 'explicit', API_KEYS_SECRET_ARN: 'arn:x', AWS_SESSION_TOKEN: 'session-token' };
    const before = requests;
    assert.deepEqual(await loadSecretsIntoEnv(env, { port }), []);
    assert.equal(env.API_KEYS, 'explicit');
    assert.equal(requests, before);
    assert.deepEqual(secretVariables({ _SECRET_ARN: 'x', A_SECRET_ARN: '' }), []);
  });

  test('a refused request fails naming the variable, without retrying a 4xx', async () => {
    const env = {
      API_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:api-keys',
      AWS_SESSION_TOKEN: 'wrong',
    };
    const before = requests;
    await assert.rejects(loadSecretsIntoEnv(env, { port, attempts: 3 }), (err: SecretLoadError) => {
      assert.equal(err.variable, 'API_KEYS');
      assert.match(err.message, /401/);
      return true;
    });
    assert.equal(requests - before, 1);
  });

  test('an unreachable extension is retried, then fails', async () => {
    const env = { X_SECRET_ARN: 'arn:x', AWS_SESSION_TOKEN: 'session-token' };
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(loadSecretsIntoEnv(env, { port: deadPort, attempts: 2, retryDelayMs: 1 }), /unreachable/);
  });
});
