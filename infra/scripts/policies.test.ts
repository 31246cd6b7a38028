import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { policiesFor } from './policies.ts';

describe('policiesFor', () => {
  const { edge, worker } = policiesFor({
    account: '123456789012',
    region: 'eu-west-1',
    bucket: 'acme-yi-vl',
    modelUri: 's3://acme-models/yi-vl/6b/',
  });
  const resources = (doc: typeof edge) =>
    doc.Statement.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])) as string[];

  test('renders concrete ARNs, scoped to key kinds and named queues', () => {
    for (const doc of [edge, worker]) {
      for (const r of resources(doc)) {
        assert.equal(typeof r, 'string');
        assert.notEqual(r, '*');
        assert.doesNotMatch(r, /\$\{Token|Fn::/);
      }
    }
    assert.ok(resources(edge).includes('arn:aws:s3:::acme-yi-vl/inputs/*'));
    assert.ok(resources(edge).includes('arn:aws:sqs:eu-west-1:123456789012:yi-vl-jobs'));
    assert.ok(!resources(edge).some((r) => r.includes('acme-models')));
    assert.ok(resources(worker).includes('arn:aws:s3:::acme-models/yi-vl/6b/*'));
    assert.ok(resources(worker).includes('arn:aws:sqs:eu-west-1:123456789012:yi-vl-jobs-dlq'));
    for (const doc of [edge, worker]) {
      assert.ok(resources(doc).includes('arn:aws:sqs:eu-west-1:123456789012:yi-vl-jobs-batch'));
      assert.ok(resources(doc).includes('arn:aws:s3:::acme-yi-vl/batches/*'));
    }
    const put = worker.Statement.find((s) => s.Sid === 'WriteObjects');
    assert.deepEqual(put?.Resource, [
      'arn:aws:s3:::acme-yi-vl/inputs/*',
      'arn:aws:s3:::acme-yi-vl/jobs/*',
      'arn:aws:s3:::acme-yi-vl/usage/*',
      'arn:aws:s3:::acme-yi-vl/events/*',
      'arn:aws:s3:::acme-yi-vl/batches/*',
      'arn:aws:s3:::acme-yi-vl/batch-files/*',
    ]);
  });

  test('refuses a malformed account id', () => {
    assert.throws(() => policiesFor({ account: '12', region: 'eu-west-1', bucket: 'b' }), /12-digit/);
  });
});
