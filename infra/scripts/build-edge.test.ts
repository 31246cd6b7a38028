import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { buildEdgeBundle } from './build-edge.ts';

const work = mkdtempSync(join(tmpdir(), 'edge-bundle-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('buildEdgeBundle', () => {
  test('bundles the handler with the secret loader; runs from a folder with no project around it', async () => {
    const outDir = join(work, 'out');
    const res = await buildEdgeBundle({ outDir, handlerEntry: 'test/infra/fixtures/edge-lambda-handler.ts' });
    assert.deepEqual(res.nativePackages, ['sharp']);
    assert.ok(existsSync(join(outDir, 'node_modules/sharp/package.json')));

    // The Parameters and Secrets extension, on loopback.
    const apiKeys = `k1:acme:${'b'.repeat(64)}`;
    const ext = createServer((req, res) => {
      const ok = req.headers['x-aws-parameters-secrets-token'] === 'tok' && req.url?.includes('secretId=arn%3Aapi');
      res.writeHead(ok ? 200 : 400).end(ok ? JSON.stringify({ SecretString: apiKeys }) : '');
    });
    await new Promise<void>((r) => ext.listen(0, '127.0.0.1', r));
    try {
      const port = (ext.address() as AddressInfo).port;
      const script = `const m = await import(${JSON.stringify(res.bundle)}); console.log(JSON.stringify(await m.handler()));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: work,
        env: {
          PATH: process.env.PATH,
          API_KEYS_SECRET_ARN: 'arn:api',
          AWS_SESSION_TOKEN: 'tok',
          PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port),
        },
      });
      const out = JSON.parse(stdout.trim()) as { statusCode: number; body: string };
      assert.equal(out.statusCode, 200);
      const body = JSON.parse(out.body) as { tenants: string[]; key: string; pngBytes: number };
      assert.deepEqual(body.tenants, ['acme']);
      assert.equal(body.key, 'inputs/acme/job1/model-input.png');
      assert.ok(body.pngBytes > 0);
    } finally {
      await new Promise<void>((r) => ext.close(() => r()));
    }
  });

  test('refuses a missing entry', async () => {
    await assert.rejects(buildEdgeBundle({ outDir: join(work, 'x'), handlerEntry: 'nope/handler.ts' }), /not found/);
  });
});
