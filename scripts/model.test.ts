// `npm run model` end to end as a child process: pull and prepare through a mirror named by HF_ENDPOINT, plain
// progress lines when stderr is not a terminal, and exit code 2 with one clear line for bad input.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closedEndpoint } from '../test/support/closed-port.ts';
import { type LocalHub, startLocalHub } from '../test/support/local-hub.ts';
import { makeTinyHubRepo } from '../test/support/tiny-hub-repo.ts';

let root: string;
let mirror: LocalHub;

function model(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'model.ts'), ...args], {
    env: { ...process.env, HF_TOKEN: '', HF_ENDPOINT: '', LOCAL_DATA_DIR: join(root, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'model-cli-'));
  mirror = await startLocalHub({
    repos: [{ id: '01-ai/Yi-VL-6B', dir: makeTinyHubRepo(join(root, 'repo'), '6B') }],
    basePath: '/hf-mirror',
  });
});
after(async () => {
  await mirror?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('npm run model', () => {
  test('pull through a mirror (HF_ENDPOINT): plain progress lines, the folder on stdout', async () => {
    const out = join(root, 'ckpt');
    const r = await model(['pull', '01-ai/Yi-VL-6B', '--out', out], { HF_ENDPOINT: mirror.url });
    assert.equal(r.status, 0, r.stderr);
    assert.match(mirror.url, /\/hf-mirror$/);
    assert.ok(mirror.requests.length > 20 && mirror.requests.every((q) => q.path.startsWith('/hf-mirror/')));
    assert.match(
      r.stderr,
      /^pulling 01-ai\/Yi-VL-6B \(main → [0-9a-f]{12}\) into .*: 11 files, 18\.\d MB, 18\.\d MB to download \(.* free\)$/m,
    );
    assert.match(r.stderr, /^ {2}✓ pytorch_model-00001-of-00002\.bin \(16\.5 MB, checksum ok\)$/m);
    assert.match(r.stderr, /^pulled 18\.\d MB in \d+s/m);
    assert.match(r.stderr, /checkpoint ready: .* \(01-ai\/Yi-VL-6B @ [0-9a-f]{12}, 11 files\)/);
    assert.ok(!r.stderr.includes('\x1b['), 'no terminal control codes when stderr is not a terminal');
    assert.equal(r.stdout.trim(), out);
  });

  test('prepare into the default models folder, then verify', async () => {
    const r = await model(['prepare', '01-ai/Yi-VL-6B', '--dtype', 'int4'], { HF_ENDPOINT: mirror.url });
    assert.equal(r.status, 0, r.stderr);
    const dir = join(root, 'data', 'models', '01-ai--Yi-VL-6B', 'onnx-int4');
    assert.equal(r.stdout.trim(), dir);
    assert.ok(existsSync(join(dir, 'manifest.json')));
    assert.match(r.stderr, /verified \d+ files .* against the sha256s in manifest\.json/);
    assert.match(r.stderr, /model ready in [\d.]+ s: .*onnx-int4 \(01-ai\/Yi-VL-6B @ [0-9a-f]{12}, int4\)/);
    assert.match(r.stderr, /start the local stack with it: MODEL=01-ai\/Yi-VL-6B npm start/);
    const v = await model(['verify', dir]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stderr, /\d+ files \(.*\) match manifest\.json/);
  });

  test('bad input: exit 2 with one clear line', async () => {
    const token = await model(['pull', '01-ai/Yi-VL-6B'], { HF_TOKEN: 'not-a-token' });
    assert.equal(token.status, 2);
    assert.match(token.stderr, /HF_TOKEN: must be a Hugging Face access token \(hf_…\)/);
    const noDtype = await model(['prepare', '01-ai/Yi-VL-6B']);
    assert.equal(noDtype.status, 2);
    assert.match(noDtype.stderr, /--dtype is required/);
    const notRepo = await model(['pull', './some/folder']);
    assert.equal(notRepo.status, 2);
    assert.match(notRepo.stderr, /pull takes a Hub repository/);
    const offline = await model(['pull', '01-ai/Yi-VL-6B', '--out', join(root, 'x')], {
      HF_ENDPOINT: await closedEndpoint(),
    });
    assert.equal(offline.status, 1);
    assert.match(offline.stderr, /^model: could not reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/m);
  });
});
