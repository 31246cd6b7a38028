import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ProblemError } from '../errors/problem.ts';
import { assertPublicUrl, isForbiddenAddress, safeFetch } from './ssrf.ts';

describe('address policy', () => {
  test('refuses private, loopback, link-local, metadata, CGNAT, unique-local, mapped and tunnelled forms', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      '2002:a00:1::',
      '2001::1',
      'not-an-ip',
    ]) {
      assert.equal(isForbiddenAddress(ip), true, ip);
    }
  });
  test('allows public unicast', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])
      assert.equal(isForbiddenAddress(ip), false, ip);
  });
});

describe('assertPublicUrl', () => {
  const refuse = async (url: string, resolve?: () => Promise<{ address: string; family: number }[]>) => {
    await assert.rejects(
      assertPublicUrl(url, resolve ? { resolve } : {}),
      (e: unknown) => e instanceof ProblemError && e.code === 'url_not_allowed',
    );
  };
  test('refuses literals, names resolving to private addresses, and odd schemes', async () => {
    await refuse('http://127.0.0.1/x');
    await refuse('http://[::1]/x');
    await refuse('http://[::ffff:169.254.169.254]/latest/meta-data');
    await refuse('http://internal.example/x', async () => [{ address: '10.0.0.5', family: 4 }]);
    await refuse('http://mixed.example/x', async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ]);
    await refuse('file:///etc/passwd');
    await refuse('http://user:pw@example.com/');
  });
  test('allows a public name and honours the allow-list', async () => {
    const t = await assertPublicUrl('https://example.com/a.png', {
      resolve: async () => [{ address: '93.184.216.34', family: 4 }],
    });
    assert.equal(t.address, '93.184.216.34');
    await assertPublicUrl('http://127.0.0.1:9/x', { allowPrivateHosts: ['127.0.0.1'] });
  });
});

describe('safeFetch against a loopback server', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200);
        res.end(Buffer.alloc(5000));
      } else if (req.url === '/redirect-private') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' });
        res.end();
      } else if (req.url === '/redirect-ok') {
        res.writeHead(302, { location: '/ok' });
        res.end();
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000);
      } else {
        res.end('ok');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const opts = { maxBytes: 1000, timeoutMs: 1000, maxRedirects: 3, allowPrivateHosts: ['127.0.0.1'] };

  test('loopback is refused without the allow-list', async () => {
    await assert.rejects(safeFetch(`${base}/ok`, { ...opts, allowPrivateHosts: [] }), /private, loopback/);
  });
  test('fetches, follows a safe redirect, and re-checks redirect targets', async () => {
    const res = await safeFetch(`${base}/redirect-ok`, opts);
    assert.equal(Buffer.from(res.body).toString(), 'ok');
    await assert.rejects(safeFetch(`${base}/redirect-private`, opts), /private, loopback/);
    const raw = await safeFetch(`${base}/redirect-ok`, { ...opts, maxRedirects: 0 });
    assert.equal(raw.status, 302);
  });
  test('caps size and time', async () => {
    await assert.rejects(safeFetch(`${base}/big`, opts), /exceeds 1000 bytes/);
    await assert.rejects(safeFetch(`${base}/slow`, { ...opts, timeoutMs: 200 }), /timed out/);
  });
});
