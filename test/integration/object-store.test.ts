import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LOCAL_S3_CREDENTIALS } from '../../scripts/local-services/s3-server.ts';
import { createS3Client, S3ObjectStore } from '../../shared/aws/s3-object-store.ts';
import { PreconditionFailedError, StoreUnavailableError } from '../../shared/ports/object-store.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';

describe('S3ObjectStore against a local S3-compatible server (native conditional writes)', () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws();
  });
  after(async () => aws.close());

  test('round-trips a 20 MB object byte for byte', async () => {
    const body = randomBytes(20 * 1024 * 1024);
    const { etag } = await aws.store.put('inputs/t1/big.bin', body, { contentType: 'application/octet-stream' });
    assert.ok(etag.length > 0);
    const got = await aws.store.get('inputs/t1/big.bin');
    assert.ok(got);
    assert.equal(got.size, body.byteLength);
    assert.ok(Buffer.from(got.body).equals(body));
    assert.equal(got.etag, etag);
    const head = await aws.store.head('inputs/t1/big.bin');
    assert.equal(head?.size, body.byteLength);
  });

  test('many requests at once through one client keep their own keys, bodies and conditions', async () => {
    // The clients resolve each command's middleware once and reuse it, so concurrent requests share a handler.
    const keys = Array.from({ length: 40 }, (_, i) => `jobs/t9/concurrent-${i}.json`);
    const bodies = keys.map((k) => `${k}:${randomBytes(8).toString('hex')}`);
    await Promise.all(keys.map((k, i) => aws.store.put(k, bodies[i]!, { ifNoneMatch: '*' })));
    const [got, heads, retries] = await Promise.all([
      Promise.all(keys.map((k) => aws.store.get(k))),
      Promise.all(keys.map((k) => aws.store.head(k))),
      Promise.allSettled(keys.map((k, i) => aws.store.put(k, `${bodies[i]}!`, { ifNoneMatch: '*' }))),
    ]);
    for (const [i, k] of keys.entries()) {
      assert.equal(Buffer.from(got[i]!.body).toString(), bodies[i], k);
      assert.equal(heads[i]!.etag, got[i]!.etag, k);
      assert.ok(retries[i]!.status === 'rejected' && retries[i]!.reason instanceof PreconditionFailedError, k);
    }
  });

  test('get and head of a missing key return null; delete removes', async () => {
    assert.equal(await aws.store.get('jobs/t1/nope.json'), null);
    assert.equal(await aws.store.head('jobs/t1/nope.json'), null);
    await aws.store.put('jobs/t1/gone.json', '{}');
    await aws.store.delete('jobs/t1/gone.json');
    assert.equal(await aws.store.head('jobs/t1/gone.json'), null);
  });

  test('lists a prefix in pages, in key order, with StartAfter', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => `events/t2/evt_${String(i).padStart(3, '0')}.json`);
    for (const k of keys) await aws.store.put(k, k);
    await aws.store.put('events/t3/other.json', 'x');
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await aws.store.list('events/t2/', { maxKeys: 3, ...(token ? { continuationToken: token } : {}) });
      seen.push(...page.items.map((i) => i.key));
      token = page.continuationToken;
      pages++;
    } while (token);
    assert.deepEqual(seen, keys);
    assert.equal(pages, 3);
    const after4 = await aws.store.list('events/t2/', { startAfter: keys[3] });
    assert.deepEqual(
      after4.items.map((i) => i.key),
      keys.slice(4),
    );
  });

  test('If-None-Match: * refuses an existing key, even under a concurrent race', async () => {
    await aws.store.put('idempotency/t1/a.json', 'first', { ifNoneMatch: '*' });
    await assert.rejects(
      aws.store.put('idempotency/t1/a.json', 'second', { ifNoneMatch: '*' }),
      PreconditionFailedError,
    );
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => aws.store.put('idempotency/t1/race.json', `w${i}`, { ifNoneMatch: '*' })),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof PreconditionFailedError));
  });

  test('If-Match replaces only the version that was read', async () => {
    const v1 = await aws.store.put('jobs/t1/cas.json', 'v1');
    const v2 = await aws.store.put('jobs/t1/cas.json', 'v2', { ifMatch: v1.etag });
    await assert.rejects(aws.store.put('jobs/t1/cas.json', 'v3', { ifMatch: v1.etag }), PreconditionFailedError);
    await aws.store.put('jobs/t1/cas.json', 'v3', { ifMatch: v2.etag });
    assert.equal(Buffer.from((await aws.store.get('jobs/t1/cas.json'))!.body).toString(), 'v3');
    await assert.rejects(aws.store.put('jobs/t1/missing.json', 'x', { ifMatch: v1.etag }), PreconditionFailedError);
  });

  test('a stopped server surfaces as StoreUnavailableError, and recovers', async () => {
    await aws.s3.stop();
    try {
      await assert.rejects(aws.store.get('jobs/t1/cas.json'), StoreUnavailableError);
      await assert.rejects(aws.store.ping(), StoreUnavailableError);
    } finally {
      await aws.s3.start();
    }
    await aws.store.ping();
  });
});

describe('S3ObjectStore emulated conditional writes against plain s3rver', () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws({ plainS3: true });
  });
  after(async () => aws.close());

  test('conditional create refuses an existing key', async () => {
    assert.equal(aws.store.conditionalWrites, 'emulated');
    await aws.store.put('idempotency/t1/b.json', 'first', { ifNoneMatch: '*' });
    await assert.rejects(
      aws.store.put('idempotency/t1/b.json', 'second', { ifNoneMatch: '*' }),
      PreconditionFailedError,
    );
    assert.equal(Buffer.from((await aws.store.get('idempotency/t1/b.json'))!.body).toString(), 'first');
  });

  test('If-Match with a stale ETag is refused', async () => {
    const v1 = await aws.store.put('jobs/t1/x.json', 'v1');
    await aws.store.put('jobs/t1/x.json', 'v2', { ifMatch: v1.etag });
    await assert.rejects(aws.store.put('jobs/t1/x.json', 'v3', { ifMatch: v1.etag }), PreconditionFailedError);
  });
});

describe('S3ObjectStore put signing', () => {
  let aws: LocalAws;
  before(async () => {
    aws = await startLocalAws();
  });
  after(async () => aws.close());

  /** A store whose requests pass through a loopback relay listening on `host`, which records each PUT's payload hash header. */
  async function relayedStore(host: string): Promise<{ store: S3ObjectStore; seen: string[]; close(): Promise<void> }> {
    const target = new URL(aws.s3.endpoint);
    const seen: string[] = [];
    const relay = createServer((req, res) => {
      if (req.method === 'PUT') seen.push(String(req.headers['x-amz-content-sha256']));
      const out = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(out);
    });
    relay.listen(0, host);
    await once(relay, 'listening');
    const client = createS3Client({
      region: 'us-east-1',
      endpoint: `http://${host}:${(relay.address() as AddressInfo).port}`,
      forcePathStyle: true,
      credentials: LOCAL_S3_CREDENTIALS,
    });
    return {
      store: new S3ObjectStore({ bucket: aws.bucket, client }),
      seen,
      async close() {
        client.destroy();
        relay.closeAllConnections();
        relay.close();
      },
    };
  }

  test('a put to a loopback endpoint is signed without hashing its body, and the server verifies the signature', async () => {
    const relayed = await relayedStore('127.0.0.1');
    try {
      const body = randomBytes(400 * 1024);
      await relayed.store.put('inputs/t1/unsigned.png', body, { contentType: 'image/png' });
      await relayed.store.put('jobs/t1/unsigned.json', '{"a":1}', { ifNoneMatch: '*' });
      assert.deepEqual(relayed.seen, ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
      assert.ok(Buffer.from((await aws.store.get('inputs/t1/unsigned.png'))!.body).equals(body));
    } finally {
      await relayed.close();
    }
  });

  test('over plain HTTP to a host that is not loopback the payload hash stays in the signature', async () => {
    const relayed = await relayedStore('127.0.0.2');
    try {
      const body = randomBytes(1024);
      await relayed.store.put('inputs/t1/signed.bin', body);
      assert.deepEqual(relayed.seen, [createHash('sha256').update(body).digest('hex')]);
      assert.ok(Buffer.from((await aws.store.get('inputs/t1/signed.bin'))!.body).equals(body));
    } finally {
      await relayed.close();
    }
  });
});
