import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isForbiddenAddress } from '../../../shared/net/address-policy.ts';
import { runSsrfChecks } from './ssrf-runner.ts';
import { directVectors, redirectVectors } from './ssrf-vectors.ts';

describe('SSRF: image_url and webhook targets', () => {
  test('IPv4-compatible IPv6 (::a.b.c.d) is judged as the IPv4 address it carries, i.e. refused', () => {
    for (const ip of ['::7f00:1', '::a00:1', '::127.0.0.1', '::a9fe:a9fe'])
      assert.equal(isForbiddenAddress(ip), true, ip);
    assert.equal(isForbiddenAddress('2606:4700:4700::1111'), false);
  });

  test('every vector is refused by the edge (create) and the worker (delivery), and no canary is reached', async () => {
    const report = await runSsrfChecks();
    assert.deepEqual(report.failures, []);
    const direct = directVectors(1).length;
    const isVector = (name: string) => !name.startsWith('control') && !name.startsWith('nothing');
    const count = (surface: string) =>
      report.rows.filter((r) => r.surface === surface && isVector(r.vector.name)).length;
    assert.equal(count('edge image_url'), direct + redirectVectors('http://x', 1).length);
    assert.equal(count('edge webhook'), direct);
    assert.equal(count('worker webhook'), direct + 4);
    // The positive controls ran (and passed, or they would be in failures): refusals are not an artefact.
    assert.ok(report.rows.filter((r) => r.vector.name.startsWith('control')).length >= 5);
    assert.deepEqual(report.canaryHits, []);
  });
});
