// prepare = pull + convert + verify from a loopback Hub, each step skipped when its result is already there.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closedEndpoint } from '../../test/support/closed-port.ts';
import { type LocalHub, startLocalHub } from '../../test/support/local-hub.ts';
import { makeTinyHubRepo, officialTowerDir } from '../../test/support/tiny-hub-repo.ts';
import type { Manifest } from '../converter/convert.ts';
import { parseModelSource } from './model-source.ts';
import { PREPARED_RECORD, type PrepareOptions, prepareModel } from './prepare.ts';
import { ModelVerifyError, VERIFIED_STAMP, verifyModel } from './verify.ts';

const REPO = '01-ai/Yi-VL-6B';
let root: string;
let repo6b: string;
let hub: LocalHub;
let n = 0;
const modelsDir = () => join(root, `models-${++n}`);
const contentRequests = (from: number) =>
  hub.requests.slice(from).filter((r) => r.path.includes('/resolve/') || r.path.includes('/cdn-lfs/'));
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

const prepare = (models: string, extra: Partial<PrepareOptions> = {}) =>
  prepareModel({
    source: { kind: 'hub', repo: REPO },
    modelsDir: models,
    dtype: 'int4',
    hub: { hubUrl: hub.url },
    ...extra,
  });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'yi-vl-prepare-'));
  repo6b = makeTinyHubRepo(join(root, 'repo-6b'), '6B');
  const repo34b = makeTinyHubRepo(join(root, 'repo-34b'), '34B', 3);
  hub = await startLocalHub({
    repos: [
      { id: REPO, dir: repo6b },
      { id: '01-ai/Yi-VL-34B', dir: repo34b },
    ],
  });
});
after(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('prepare (pull → convert → verify)', () => {
  test('the first prepare does all three; the second skips all three', async () => {
    const models = modelsDir();
    const lines: string[] = [];
    const first = await prepare(models, { log: (l) => lines.push(l) });
    assert.equal(first.modelDir, join(models, '01-ai--Yi-VL-6B', 'onnx-int4'));
    assert.equal(first.checkpointDir, join(models, '01-ai--Yi-VL-6B', 'checkpoint'));
    assert.equal(first.commit, hub.commitOf(REPO));
    assert.ok(first.pulledBytes > 18_000_000);
    assert.equal(first.converted, true);
    assert.equal(first.verified, 'hashed');
    const manifest = readManifest(first.modelDir);
    assert.equal(manifest.dtype, 'int4');
    assert.equal(manifest.source.visionTowerPath, officialTowerDir('6B'));
    const record = JSON.parse(readFileSync(join(first.modelDir, PREPARED_RECORD), 'utf8'));
    assert.equal(record.source.repo, REPO);
    assert.equal(record.source.commit, hub.commitOf(REPO));
    assert.ok(existsSync(join(first.modelDir, VERIFIED_STAMP)));
    assert.ok(!existsSync(`${first.modelDir}.converting`));
    assert.ok(lines.some((l) => /verified \d+ files .* against the sha256s in manifest\.json/.test(l)));

    const mark = hub.requests.length;
    const second = await prepare(models);
    assert.equal(second.pulledBytes, 0);
    assert.equal(second.converted, false);
    assert.equal(second.verified, 'stamp');
    assert.equal(contentRequests(mark).length, 0);
    assert.equal(readManifest(second.modelDir).createdAt, manifest.createdAt);
  });

  test('a damaged converted file fails verification and is converted again', async () => {
    const models = modelsDir();
    const first = await prepare(models, { dtype: 'fp32' });
    const data = join(first.modelDir, 'decoder.onnx.data');
    const bytes = readFileSync(data);
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(data, bytes);
    await assert.rejects(verifyModel(first.modelDir), (err: unknown) => {
      assert.ok(err instanceof ModelVerifyError);
      assert.deepEqual(
        err.problems.map((p) => p.split(':')[0]),
        ['decoder.onnx.data'],
      );
      return true;
    });
    const lines: string[] = [];
    const again = await prepare(models, { dtype: 'fp32', log: (l) => lines.push(l) });
    assert.equal(again.converted, true);
    assert.equal(again.pulledBytes, 0);
    assert.ok(lines.some((l) => l.includes('decoder.onnx.data: sha256')));
    await verifyModel(again.modelDir, { full: true });
  });

  test('reuse (npm start): a prepared model and its pulled checkpoint are used without the Hub', async () => {
    const models = modelsDir();
    await prepare(models);
    const offline = { hubUrl: await closedEndpoint() };
    const same = await prepare(models, { reuse: true, hub: offline });
    assert.equal(same.converted, false);
    const other = await prepare(models, { reuse: true, hub: offline, dtype: 'fp16' });
    assert.equal(other.converted, true);
    assert.equal(other.commit, hub.commitOf(REPO));
    assert.equal(readManifest(other.modelDir).dtype, 'fp16');
    // without reuse the Hub is asked whether the revision moved
    await assert.rejects(prepare(models, { hub: offline }), /could not reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  test('Yi-VL-34B (8 shards, its vit folder) prepares the same way', async () => {
    const r = await prepare(modelsDir(), { source: { kind: 'hub', repo: '01-ai/Yi-VL-34B' }, dtype: 'fp16' });
    const manifest = readManifest(r.modelDir);
    assert.equal(manifest.source.visionTowerPath, officialTowerDir('34B'));
    assert.equal(manifest.dtype, 'fp16');
    assert.equal(manifest.dims.llm.numLayers, 2);
  });

  test('a local checkpoint folder is converted into the models folder, and again only when it changes', async () => {
    const models = modelsDir();
    const ckpt = join(root, 'local-ckpt');
    cpSync(repo6b, ckpt, { recursive: true });
    const source = parseModelSource(ckpt);
    assert.equal(source.kind, 'checkpoint');
    const first = await prepareModel({ source, modelsDir: models, dtype: 'fp32' });
    assert.ok(first.modelDir.startsWith(join(models, 'local--local-ckpt-')));
    assert.equal(first.commit, null);
    assert.equal((await prepareModel({ source, modelsDir: models, dtype: 'fp32' })).converted, false);
    writeFileSync(join(ckpt, 'generation_config.json'), '{"bos_token_id": 6, "eos_token_id": 7, "pad_token_id": 0}\n');
    assert.equal((await prepareModel({ source, modelsDir: models, dtype: 'fp32' })).converted, true);
    // the folder prepare wrote is itself a source (MODEL=<that folder>), and its converted model too
    const preparedRoot = join(models, '01-ai--Yi-VL-6B');
    await prepare(models, { dtype: 'fp32' });
    assert.deepEqual(parseModelSource(preparedRoot), { kind: 'prepared', root: preparedRoot });
    const fromRoot = await prepareModel({ source: parseModelSource(preparedRoot), modelsDir: models, dtype: 'fp32' });
    assert.equal(fromRoot.converted, false);
    assert.equal(fromRoot.commit, hub.commitOf(REPO));
    assert.equal(parseModelSource(fromRoot.modelDir).kind, 'converted');
  });
});
