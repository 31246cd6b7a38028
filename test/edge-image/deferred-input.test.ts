/**
 * An upload the Workers image path does not decode itself (over its isolate budget) end to end, on real loopback
 * S3/SQS: the edge stores it as sent with `prepared_by: 'worker'`, an in-process worker prepares the model input and
 * runs the job, and the image the analyzer received is, byte for byte, the model input the Node edge makes. A damaged
 * upload on the same path is refused at the edge and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { createApp } from '../../edge/app.ts';
import { parseEdgeConfig } from '../../edge/config.ts';
import { loadWasmCodecModulesFromNodeModules } from '../../edge/image/node-wasm-modules.ts';
import { SharpImageProcessor } from '../../edge/image/sharp-image-processor.ts';
import { WasmImageProcessor } from '../../edge/image/wasm-image-processor.ts';
import { DEFAULT_IMAGE_LIMITS } from '../../shared/image/types.ts';
import { JobRepository } from '../../shared/jobs/job-repository.ts';
import { keys } from '../../shared/storage/keys.ts';
import { edgeEnv, KEYS } from '../edge/support/edge-harness.ts';
import { multipart } from '../edge/support/fixtures.ts';
import { waitFor } from '../worker/support/harness.ts';
import { inProcessWorkerSuite } from '../worker/support/in-process-suite.ts';
import { expectedAnswerHead } from '../worker/support/scripted-analyzer.ts';
import { damagedPngs } from './damaged-corpus.ts';

describe('deferred inputs: Workers edge → worker-side preparation (real S3/SQS on loopback)', () => {
  const s = inProcessWorkerSuite(3);

  async function edge() {
    const config = parseEdgeConfig(await edgeEnv(s.aws));
    // A 1000-pixel budget stands in for the isolate's 6 MP: every test image is "too large to decode here".
    const images = new WasmImageProcessor(await loadWasmCodecModulesFromNodeModules(), { maxPixels: 1000 });
    const app = createApp({
      store: s.aws.store,
      jobQueue: s.aws.jobQueue,
      webhookQueue: s.aws.webhookQueue,
      images,
      config,
      logger: pino({ level: 'silent' }),
    });
    return (path: string, init: RequestInit = {}) =>
      Promise.resolve(
        app.request(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${KEYS.acme}` } }),
      );
  }

  test('the worker prepares the stored upload exactly as the Node edge would, then runs the job', async () => {
    await s.useWorker();
    const call = await edge();
    const photo = new Uint8Array(
      await sharp({
        create: {
          width: 900,
          height: 600,
          channels: 3,
          background: '#000',
          noise: { type: 'gaussian', mean: 128, sigma: 60 },
        },
      })
        .jpeg({ quality: 90 })
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const prompt = 'What is in the picture?';
    const res = await call('/v1/jobs', { method: 'POST', body: multipart(photo, { prompt }) });
    const body = (await res.json()) as { id: string; input: Record<string, unknown> };
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.deepEqual([body.input.width, body.input.height, body.input.format], [600, 900, 'jpeg']);
    assert.equal('prepared_by' in body.input, false, 'an internal field');

    const record = await new JobRepository(s.aws.store).get('acme', body.id);
    assert.equal(record?.job.input?.prepared_by, 'worker');
    assert.equal(record?.job.input?.key, keys.uploadedInput('acme', body.id));
    const stored = await s.aws.store.get(keys.uploadedInput('acme', body.id));
    assert.deepEqual(stored?.body, photo, 'the upload is stored as sent');
    assert.equal(await s.aws.store.head(keys.modelInput('acme', body.id)), null);
    assert.equal((await call(`/v1/jobs/${body.id}/input`)).status, 404);

    const done = await waitFor('the job to finish', async () => {
      const job = (await new JobRepository(s.aws.store).get('acme', body.id))?.job;
      return job && ['succeeded', 'failed'].includes(job.status) ? job : null;
    });
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    const node = await new SharpImageProcessor().prepare(photo, DEFAULT_IMAGE_LIMITS);
    assert.ok(
      done.output?.text.startsWith(expectedAnswerHead(node.png, prompt)),
      'the analyzer got the Node model input',
    );
  });

  test('a damaged upload is refused at the edge, not deferred', async () => {
    const call = await edge();
    const raw = new Uint8Array(60 * 40 * 3).fill(90);
    const png = new Uint8Array(
      await sharp(raw, { raw: { width: 60, height: 40, channels: 3 } })
        .png()
        .toBuffer(),
    );
    const before = (await s.aws.store.list('inputs/')).items.length;
    for (const c of damagedPngs(png, raw, 60, 40).refused) {
      const res = await call('/v1/jobs', { method: 'POST', body: multipart(c.bytes, { prompt: 'x' }) });
      assert.equal(res.status, 422, c.name);
      assert.equal(((await res.json()) as { code: string }).code, 'image_corrupt', c.name);
    }
    assert.equal((await s.aws.store.list('inputs/')).items.length, before, 'nothing stored');
  });
});
