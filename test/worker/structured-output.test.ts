import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getJob, seedJob, waitFor, waitForStatus } from './support/harness.ts';
import { inProcessWorkerSuite } from './support/in-process-suite.ts';

const SCHEMA = {
  type: 'object',
  properties: { answer: { type: 'string' }, tokens: { type: 'integer', minimum: 0, maximum: 100 } },
  required: ['answer', 'tokens'],
  additionalProperties: false,
};

describe('structured answers through the worker (real S3/SQS on loopback, in-process worker)', () => {
  const s = inProcessWorkerSuite(3);

  test('a json_schema job succeeds with output.json, and its signed webhook carries it', async () => {
    await s.useWorker();
    const seeded = await seedJob(s.aws, {
      prompt: 'Describe steps=2',
      webhookUrl: s.receiver.url,
      params: { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: SCHEMA } } },
    });
    const job = await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed', 'canceled']);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.output?.finish_reason, 'stop');
    assert.deepEqual(job.output?.json, JSON.parse(job.output!.text));
    assert.equal((job.output!.json as { tokens: number }).tokens, 2);

    const delivery = await waitFor('job.succeeded webhook', async () =>
      s.receiver.forJob(job.id).find((d) => d.type === 'job.succeeded'),
    );
    const body = JSON.parse(delivery.body) as { data: { output: { json: unknown } } };
    assert.deepEqual(body.data.output.json, job.output?.json);
  });

  test('an answer that does not validate gets no output.json (the text is kept)', async () => {
    await s.useWorker();
    const strict = { ...SCHEMA, properties: { ...SCHEMA.properties, tokens: { type: 'integer', maximum: 1 } } };
    const seeded = await seedJob(s.aws, {
      prompt: 'Describe steps=3',
      params: { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: strict } } },
    });
    await waitForStatus(s.aws, seeded.id, ['succeeded', 'failed', 'canceled']);
    const job = await getJob(s.aws, seeded.id);
    assert.equal(job.status, 'succeeded');
    assert.ok(job.output?.text.startsWith('{'));
    assert.equal('json' in (job.output ?? {}), false);
  });
});
