import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runLogScan } from './log-flows.ts';
import { scanLines } from './secret-scan.ts';

describe('no secrets in logs', () => {
  test('the scanner flags planted secrets and credential shapes, and redacts them in its report', () => {
    const secret = { label: 'API key', value: 'yvl_planted_key_0123456789abcdef' };
    const planted = [
      `{"msg":"request","key":"${secret.value}"}`,
      '{"authorization":"Bearer yvl_something_else_123456"}',
      '{"url":"https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261127&X-Amz-Signature=abc"}',
      `{"headers":{"webhook-signature":"v1,${'A'.repeat(43)}="}}`,
      '{"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}',
      '{"msg":"harmless line","status":401}',
    ];
    const findings = scanLines(planted, [secret]);
    assert.equal(new Set(findings.map((f) => f.line)).size, 5, 'every planted line but the harmless one is flagged');
    assert.equal(
      findings.some((f) => f.line === planted[5]),
      false,
    );
    for (const label of [
      'API key',
      'Authorization: Bearer value',
      'presigned URL (X-Amz-Signature)',
      'presigned URL (X-Amz-Credential)',
      'webhook-signature value',
      'whsec_ secret',
    ])
      assert.ok(
        findings.some((f) => f.label === label),
        label,
      );
    for (const f of findings) {
      assert.equal(f.line.includes(secret.value), false);
      assert.equal(/X-Amz-Signature=|Bearer yvl|whsec_M/.test(f.line), false, f.line);
    }
  });

  test('edge (debug) and worker process (trace) logs of real flows carry no key, secret or signature', async () => {
    const report = await runLogScan();
    assert.deepEqual(report.flowFailures, []);
    assert.deepEqual(
      report.findings.map((f) => `${f.label}: ${f.line}`),
      [],
      'secrets reached the logs (lines shown redacted)',
    );
    assert.ok(report.edgeLines >= 15 && report.workerLines >= 20, `${report.edgeLines}/${report.workerLines} lines`);
  });
});
