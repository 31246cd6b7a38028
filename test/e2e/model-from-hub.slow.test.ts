/**
 * `MODEL=01-ai/Yi-VL-6B npm start` end to end against a loopback server answering the Hugging Face Hub's routes for
 * a tiny checkpoint in the official layout: the first start pulls, converts (int4, the CPU default) and verifies it,
 * with progress lines, and its model answers a job through the local stack; a second start reuses the prepared
 * model without contacting the Hub.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { type LocalHub, startLocalHub } from '../support/local-hub.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../support/local-stack-process.ts';
import { makeTinyHubRepo } from '../support/tiny-hub-repo.ts';

const apiKey = 'yvl_e2e_model_from_hub_key_0123456789';
const REPO = '01-ai/Yi-VL-6B';

describe('MODEL=<hub repository> npm start', { timeout: 300_000 }, () => {
  let root: string;
  let hub: LocalHub;
  let stack: LocalStackProcess | undefined;
  const env = () => ({ MODEL: REPO, HF_ENDPOINT: hub.url });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'yi-vl-model-e2e-'));
    hub = await startLocalHub({ repos: [{ id: REPO, dir: makeTinyHubRepo(join(root, 'repo'), '6B') }] });
  });
  after(async () => {
    await stack?.stop();
    await hub?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function answer(base: string): Promise<{ status: string; output?: { text: string } }> {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('image', new Blob([png]), 'red.png');
    form.set('prompt', 'What colour is this image?');
    form.set('max_new_tokens', '6');
    form.set('temperature', '0');
    const auth = { authorization: `Bearer ${apiKey}` };
    const res = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: auth, body: form });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as { id: string };
    for (let i = 0; i < 20; i++) {
      const job = (await (
        await fetch(`${base}/v1/jobs/${id}`, { headers: { ...auth, prefer: 'wait=10' } })
      ).json()) as {
        status: string;
        output?: { text: string };
      };
      if (['succeeded', 'failed', 'canceled'].includes(job.status)) return job;
    }
    throw new Error('job did not finish');
  }

  test('first start: pull → convert → verify with progress, then the converted model answers', async () => {
    const dataDir = join(root, 'data');
    stack = await startLocalStackProcess(apiKey, 240_000, { env: env(), dataDir });
    const out = stack.output();
    assert.match(
      out,
      /\[local\] MODEL=01-ai\/Yi-VL-6B \(int4\): prepared once \(pull from http:\/\/127\.0\.0\.1:\d+, convert, verify\), reused on later starts/,
    );
    assert.match(
      out,
      /pulling 01-ai\/Yi-VL-6B \(main → [0-9a-f]{12}\) into .*checkpoint: 11 files, 18\.\d MB, 18\.\d MB to download/,
    );
    assert.match(out, /✓ pytorch_model-00001-of-00002\.bin \(16\.5 MB, checksum ok\)/);
    assert.match(out, /\[local\] verified \d+ files .* against the sha256s in manifest\.json/);
    assert.match(out, /\[local\] model ready in [\d.]+ s: .*01-ai--Yi-VL-6B\/onnx-int4/);
    assert.match(out, /model {5}.*onnx-int4 {3}\(01-ai\/Yi-VL-6B @ [0-9a-f]{12}, int4\)/);
    assert.doesNotMatch(out, /TINY RANDOM-WEIGHT/);
    assert.ok(existsSync(join(dataDir, 'models', '01-ai--Yi-VL-6B', 'onnx-int4', 'manifest.json')));

    const job = await answer(/API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.ok(job.output!.text.length > 0);
    assert.equal(await stack.terminate(), 0);
  });

  test('a later start reuses the prepared model without contacting the Hub', async () => {
    const mark = hub.requests.length;
    stack = await startLocalStackProcess(apiKey, 240_000, { env: env(), dataDir: join(root, 'data') });
    const out = stack.output();
    assert.match(out, /\[local\] verified: unchanged since its last full check/);
    assert.doesNotMatch(out, /pulling|converting/);
    assert.equal(hub.requests.length, mark);
    assert.equal(await stack.terminate(), 0);
  });
});
