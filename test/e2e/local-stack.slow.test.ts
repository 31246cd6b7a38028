/**
 * The README's main command, end to end: starts the local stack as a child process (embedded S3/SQS, the edge, one
 * CPU worker with the tiny random-weight Yi-VL it generates), uploads an image with a webhook to a loopback receiver,
 * waits for the job, checks text, usage and the signed webhooks, asks a follow-up question about the same image, asks
 * for an answer under a JSON schema (the webhook carries output.json), and stops the stack with SIGTERM.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Webhook } from 'standardwebhooks';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack-process.ts';

const apiKey = 'yvl_e2e_local_stack_key_0123456789';

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

describe('local stack (npm start) end to end on the CPU', { timeout: 240_000 }, () => {
  let stack: LocalStackProcess;
  let base = '';
  let receiver: Server;
  let receiverUrl = '';
  const deliveries: Delivery[] = [];
  let output = '';

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        deliveries.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    stack = await startLocalStackProcess(apiKey);
    base = stack.base;
    output = stack.output();
  });

  after(async () => {
    await stack?.stop();
    receiver?.close();
  });

  const auth = { authorization: `Bearer ${apiKey}` };
  async function waitForEnd(id: string) {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${base}/v1/jobs/${id}`, { headers: { ...auth, prefer: 'wait=10' } });
      assert.equal(res.status, 200);
      const job = (await res.json()) as { status: string } & Record<string, unknown>;
      if (['succeeded', 'failed', 'canceled'].includes(job.status)) return job;
    }
    throw new Error('job did not finish');
  }

  let firstId = '';

  test('says plainly that the default model is random noise, and prints a curl example', () => {
    assert.match(output, /TINY RANDOM-WEIGHT Yi-VL/);
    assert.match(output, /curl -s -X POST/);
  });

  test('upload → queued → running → succeeded, with text, usage and signed webhooks', async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 10, g: 200, b: 40 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('image', new Blob([png]), 'green.png');
    form.set('prompt', 'What colour is this image? 这是什么颜色？');
    form.set('max_new_tokens', '12');
    form.set('temperature', '0');
    form.set('webhook', receiverUrl);
    const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: auth, body: form });
    assert.equal(res.status, 202, await res.clone().text());
    const created = (await res.json()) as { id: string; status: string };
    assert.equal(created.status, 'queued');
    firstId = created.id;

    const job = (await waitForEnd(firstId)) as {
      status: string;
      output: { text: string; finish_reason: string; completion_tokens: number };
      usage: { image_tokens: number; prompt_tokens: number; completion_tokens: number; gpu_ms: number };
      started_at?: string;
    };
    assert.equal(job.status, 'succeeded');
    assert.ok(job.started_at, 'it went through running');
    assert.ok(['stop', 'length'].includes(job.output.finish_reason));
    assert.equal(job.usage.image_tokens, 1024);
    assert.ok(job.usage.prompt_tokens > 100, 'the system prompt and question were tokenised');
    assert.ok(job.usage.completion_tokens >= 1 && job.usage.completion_tokens <= 12);
    assert.ok(job.usage.gpu_ms > 0);

    const secret = ((await (await fetch(`${base}/v1/webhook-secret`, { headers: auth })).json()) as { secret: string })
      .secret;
    const deadline = Date.now() + 30_000;
    const types = () => deliveries.map((d) => (JSON.parse(d.body) as { type: string }).type);
    while (!types().includes('job.succeeded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(types().includes('job.started'), `deliveries: ${types()}`);
    assert.ok(types().includes('job.succeeded'), `deliveries: ${types()}`);
    const wh = new Webhook(secret);
    for (const d of deliveries) wh.verify(d.body, d.headers);
    const succeeded = deliveries.find((d) => d.body.includes('"job.succeeded"'))!;
    assert.equal((JSON.parse(succeeded.body) as { data: { id: string } }).data.id, firstId);
  });

  test('a follow-up question about the same image carries the conversation', async () => {
    const res = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ parent: firstId, prompt: 'And what shape is it?', max_new_tokens: 8, temperature: 0 }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const job = (await waitForEnd(id)) as {
      status: string;
      conversation: { root_id: string; parent_id: string; history: { question: string }[] };
      usage: { prompt_tokens: number };
    };
    assert.equal(job.status, 'succeeded');
    assert.equal(job.conversation.parent_id, firstId);
    assert.equal(job.conversation.root_id, firstId);
    assert.equal(job.conversation.history.length, 1);
    assert.match(job.conversation.history[0]!.question, /What colour/);
  });

  test('a json_schema answer: the job succeeds with output.json, and its signed webhook carries it', async () => {
    const schema = {
      type: 'object',
      properties: {
        colour: { enum: ['red', 'green', 'blue', 'other'] },
        brightness: { type: 'integer', minimum: 0, maximum: 100 },
        label: { type: 'string', maxLength: 8 },
      },
      required: ['colour', 'brightness', 'label'],
      additionalProperties: false,
    };
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('image', new Blob([png]), 'red.png');
    form.set('prompt', 'Which colour? Answer as JSON.');
    form.set('response_format', JSON.stringify({ type: 'json_schema', json_schema: { name: 'colour', schema } }));
    form.set('webhook', receiverUrl);
    const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: auth, body: form });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    const job = (await waitForEnd(id)) as {
      status: string;
      output: { text: string; json?: unknown; finish_reason: string };
    };
    assert.equal(job.status, 'succeeded');
    // the schema is bounded, so the job's max_new_tokens is its token bound and the document always completes
    assert.equal(job.output.finish_reason, 'stop');
    assert.deepEqual(job.output.json, JSON.parse(job.output.text));
    const value = job.output.json as { colour: string; brightness: number; label: string };
    assert.deepEqual(Object.keys(value), ['colour', 'brightness', 'label']);
    assert.ok(['red', 'green', 'blue', 'other'].includes(value.colour));
    assert.ok(Number.isInteger(value.brightness) && value.brightness >= 0 && value.brightness <= 100);

    const secret = ((await (await fetch(`${base}/v1/webhook-secret`, { headers: auth })).json()) as { secret: string })
      .secret;
    type Event = { type: string; data: { id: string; output?: { json?: unknown } } };
    const succeeded = () =>
      deliveries.find((d) => {
        const e = JSON.parse(d.body) as Event;
        return e.type === 'job.succeeded' && e.data.id === id;
      });
    const deadline = Date.now() + 30_000;
    while (!succeeded() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const delivery = succeeded();
    assert.ok(delivery, 'the job.succeeded webhook arrived');
    new Webhook(secret).verify(delivery.body, delivery.headers);
    assert.deepEqual((JSON.parse(delivery.body) as Event).data.output?.json, job.output.json);
  });

  test('SIGTERM drains and exits 0', async () => {
    assert.equal(await stack.terminate(), 0);
  });
});
