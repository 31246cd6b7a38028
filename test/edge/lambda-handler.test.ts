import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LambdaContext, LambdaEvent } from 'hono/aws-lambda';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { edgeEnv, KEYS } from './support/edge-harness.ts';
import { jpeg, multipart } from './support/fixtures.ts';

type Handler = (
  event: LambdaEvent,
  context: LambdaContext,
) => Promise<{ statusCode: number; body: string; headers?: Record<string, string>; isBase64Encoded?: boolean }>;

/** An API Gateway HTTP API (payload v2) event. */
function event(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): LambdaEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    ...(body ? { body: Buffer.from(body).toString('base64'), isBase64Encoded: true } : { isBase64Encoded: false }),
  } as unknown as LambdaEvent;
}

describe('AWS Lambda entry', () => {
  let aws: LocalAws;
  let handler: Handler;
  const saved = { ...process.env };
  before(async () => {
    aws = await startLocalAws();
    Object.assign(process.env, await edgeEnv(aws, { LOG_LEVEL: 'silent' }));
    handler = (await import('../../edge/adapter/lambda/handler.ts')).handler as unknown as Handler;
  });
  after(async () => {
    process.env = saved;
    await aws.close();
  });

  test('serves health, auth and a multipart create through API Gateway events', async () => {
    const ctx = {} as LambdaContext;
    const health = await handler(event('GET', '/healthz', {}), ctx);
    assert.equal(health.statusCode, 200);
    const denied = await handler(event('GET', '/v1/jobs', {}), ctx);
    assert.equal(denied.statusCode, 401);
    const form = multipart(await jpeg(24, 24), { prompt: 'Hello?' });
    const req = new Request('http://x/', { method: 'POST', body: form });
    const bytes = new Uint8Array(await req.arrayBuffer());
    const created = await handler(
      event(
        'POST',
        '/v1/jobs',
        { authorization: `Bearer ${KEYS.acme}`, 'content-type': req.headers.get('content-type')! },
        bytes,
      ),
      ctx,
    );
    assert.equal(created.statusCode, 202, created.body);
    const job = JSON.parse(created.body) as { id: string };
    const msgs = await aws.jobQueue.receive({ waitSeconds: 1 });
    assert.equal(JSON.parse(msgs[0]!.body).job_id, job.id);
  });
});
