// The self-contained worker release, as an air-gapped host gets it: the archive is unpacked into an empty folder
// and run with a PATH that holds no `node` (only the two tools the launchers call), from another directory and
// through a symlink. The tiny model is converted here with the repository's converter.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import {
  CUDA_PROVIDER_FILE,
  onnxruntimeLibraryDir,
  SHARED_PROVIDER_FILE,
} from '../../gpu-worker/yi-vl/pipeline/cuda-provider-check.ts';
import { writeFakeElf } from '../../gpu-worker/yi-vl/pipeline/testing/fake-elf.ts';
import { tinyModel } from '../../gpu-worker/yi-vl/pipeline/testing/tiny-model.ts';
import {
  buildWorkerRelease,
  NODE_RUNTIME,
  type ReleaseManifest,
  releaseSourceHash,
} from '../../scripts/release/build-worker-release.ts';
import { type LocalAws, startLocalAws } from '../support/local-aws.ts';
import { seedJob, waitForStatus, workerEnv } from '../worker/support/harness.ts';

const MAX_ARCHIVE_BYTES = 50 * 2 ** 20;
const ROOT = join(import.meta.dirname, '../..');

/**
 * dist/'s archive when it was built from these sources, else a fresh build (xz takes minutes on a small machine).
 * RELEASE_ARCHIVE=<file> tests a given archive as it is.
 */
async function releaseArchive(): Promise<{ archive: string; bytes: number; manifest: ReleaseManifest }> {
  const given = process.env.RELEASE_ARCHIVE;
  const archive = given ? resolve(given) : join(ROOT, 'dist/yi-vl-worker-0.1.0-linux-x64.tar.xz');
  const sidecar = `${archive}.json`;
  if (existsSync(archive) && existsSync(sidecar)) {
    const manifest = JSON.parse(readFileSync(sidecar, 'utf8')) as ReleaseManifest;
    if (given || manifest.sourceHash === releaseSourceHash()) {
      return { archive, bytes: readFileSync(archive).length, manifest };
    }
  }
  const built = await buildWorkerRelease({ outDir: 'dist', log: (s) => console.log(`# ${s}`) });
  return { archive: built.archive, bytes: built.bytes, manifest: built.manifest };
}

/** A folder holding only the tools the launchers use, so that nothing else on this machine's PATH is reachable. */
function toolsOnlyPath(dir: string): string {
  mkdirSync(dir);
  for (const tool of ['readlink', 'dirname']) {
    const found = execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

describe('worker release (linux-x64)', { skip: process.platform !== 'linux' || process.arch !== 'x64' }, () => {
  let work: string;
  let release: string;
  let manifest: ReleaseManifest;
  let bytes: number;
  let env: Record<string, string>;
  let modelDir: string;
  let image: string;
  const ortDir = () => join(release, 'lib/node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
  const run = (cmd: string, args: string[], extraEnv: Record<string, string> = {}) =>
    spawnSync(cmd, args, { cwd: work, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 300_000 });

  before(async () => {
    const built = await releaseArchive();
    manifest = built.manifest;
    bytes = built.bytes;
    work = mkdtempSync(join(tmpdir(), 'yi-vl-release-'));
    release = join(work, 'unpacked');
    mkdirSync(release);
    execFileSync('tar', ['-xJf', built.archive, '-C', release, '--strip-components=1']);
    env = { PATH: toolsOnlyPath(join(work, 'tools')), HOME: work, LANG: 'C.UTF-8' };
    modelDir = (await tinyModel()).modelDir;
    image = join(work, 'photo.jpg');
    await sharp({ create: { width: 640, height: 400, channels: 3, background: '#6a8' } })
      .jpeg()
      .toFile(image);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test(`archive is at most 50 MiB (xz) and names what it ships`, () => {
    console.log(`# ${manifest.name}.tar.xz: ${(bytes / 2 ** 20).toFixed(1)} MiB (${bytes} bytes)`);
    assert.ok(bytes <= MAX_ARCHIVE_BYTES, `${bytes} bytes`);
    assert.equal(manifest.node, NODE_RUNTIME.version);
    assert.equal(manifest.cudaProvider, null);
    assert.deepEqual(JSON.parse(readFileSync(join(release, 'RELEASE.json'), 'utf8')), manifest);
    for (const cmd of manifest.commands) assert.ok(existsSync(join(release, cmd)), cmd);
  });

  test('ships one Node runtime, linux-x64 native code only, and no TypeScript tooling', () => {
    const node = run(join(release, 'runtime/node'), ['--version']);
    assert.equal(node.stdout.trim(), `v${NODE_RUNTIME.version}`);
    const files = execFileSync('find', [release, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
    const natives = files.filter((f) => /\.node$|\.so(\.\d+)*$/.test(f)).map((f) => relative(release, f));
    assert.ok(natives.length >= 4, natives.join('\n'));
    for (const f of natives) assert.match(f, /linux[/-]x64/, f);
    assert.ok(!files.some((f) => /node_modules\/(tsx|typescript|esbuild)\//.test(f)));
    assert.ok(files.some((f) => f.endsWith('share/gpu-worker/yi-vl/tokenizer/data/tokenizer.model')));
  });

  test('bin/yi-vl generate runs the tiny model with no node on PATH, from another directory, through a symlink', () => {
    assert.notEqual(run('/bin/sh', ['-c', 'command -v node']).status, 0, 'node must not be reachable on PATH');
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(join(release, 'bin/yi-vl'), join(elsewhere, 'yi-vl'));
    const res = run(join(elsewhere, 'yi-vl'), [
      'generate',
      '--model',
      modelDir,
      '--image',
      image,
      '--prompt',
      'What is in this image?',
      '--max-new-tokens',
      '4',
      '--device',
      'cpu',
      '--json',
    ]);
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { completion_tokens: number; provider: string; text: string };
    assert.equal(out.completion_tokens, 4);
    assert.equal(out.provider, 'cpu');
    assert.equal(typeof out.text, 'string');
  });

  test('bin/yi-vl-worker takes a job from the queue and answers it (model thread included)', async () => {
    let aws: LocalAws | undefined;
    const child = { proc: undefined as ReturnType<typeof spawn> | undefined, out: '' };
    try {
      aws = await startLocalAws();
      const png = await sharp({ create: { width: 448, height: 448, channels: 3, background: '#7a4' } })
        .png()
        .toBuffer();
      const job = await seedJob(aws, { image: new Uint8Array(png), params: { max_new_tokens: 3 } });
      // A schema-constrained job too: the grammar engine (XGrammar's WebAssembly) must load from the release.
      const schema = {
        type: 'object',
        properties: { ok: { type: 'boolean' } },
        required: ['ok'],
        additionalProperties: false,
      };
      const structured = await seedJob(aws, {
        image: new Uint8Array(png),
        params: { response_format: { type: 'json_schema', json_schema: { name: 'check', schema, strict: true } } },
      });
      child.proc = spawn(join(release, 'bin/yi-vl-worker'), [], {
        cwd: work,
        env: { ...env, ...workerEnv(aws, { MODEL_DIR: modelDir, YI_VL_DEVICE: 'cpu' }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.proc.stdout?.on('data', (c: Buffer) => (child.out += c));
      child.proc.stderr?.on('data', (c: Buffer) => (child.out += c));
      const done = await waitForStatus(aws, job.id, ['succeeded', 'failed'], 120_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${child.out}`);
      });
      assert.equal(done.status, 'succeeded', child.out);
      assert.equal(done.output?.completion_tokens, 3);
      const constrained = await waitForStatus(aws, structured.id, ['succeeded', 'failed'], 120_000);
      assert.equal(constrained.status, 'succeeded', child.out);
      assert.equal(constrained.output?.finish_reason, 'stop', child.out);
      assert.equal(typeof (constrained.output?.json as { ok?: unknown } | undefined)?.ok, 'boolean', child.out);
    } finally {
      child.proc?.kill('SIGTERM');
      await aws?.close();
    }
  });

  test('a CUDA provider from another onnxruntime version is refused at start-up with one line', () => {
    const cuda = join(ortDir(), CUDA_PROVIDER_FILE);
    const shared = join(ortDir(), SHARED_PROVIDER_FILE);
    writeFakeElf(cuda, { rodata: ['Replay', '1.29.0', 'Failed to get device id.'] });
    writeFakeElf(shared, {});
    try {
      const cli = run(join(release, 'bin/yi-vl'), ['generate', '--model', modelDir, '--image', image, '--prompt', 'x']);
      assert.equal(cli.status, 1, cli.stderr);
      const line = `CUDA provider ${cuda} is from onnxruntime 1.29.0 but the core library is onnxruntime ${manifest.onnxruntime}`;
      assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
      assert.ok(cli.stderr.includes(line), cli.stderr);

      const worker = run(join(release, 'bin/yi-vl-worker'), [], {
        AWS_REGION: 'us-east-1',
        S3_BUCKET: 'b',
        JOB_QUEUE_URL: 'http://127.0.0.1:1/q',
        WEBHOOK_QUEUE_URL: 'http://127.0.0.1:1/w',
        WEBHOOK_SIGNING_KEY: 'k'.repeat(40),
        MODEL_DIR: modelDir,
        METRICS_PORT: '0',
      });
      assert.equal(worker.status, 78, worker.stderr);
      assert.equal(
        worker.stderr.trim(),
        `gpu-worker: ${line}: a provider loads only into its own onnxruntime version (matching combinations: docs/deploy.md)`,
      );

      // YI_VL_DEVICE=cpu never loads the provider, so it is not checked.
      const cpu = run(join(release, 'bin/yi-vl'), [
        ...['generate', '--model', modelDir, '--image', image, '--prompt', 'x'],
        ...['--max-new-tokens', '1', '--device', 'cpu', '--json'],
      ]);
      assert.equal(cpu.status, 0, cpu.stderr);
    } finally {
      rmSync(cuda, { force: true });
      rmSync(shared, { force: true });
    }
  });

  test('the build refuses a --cuda-provider from another onnxruntime version', async () => {
    const dir = join(work, 'provider-1.29');
    mkdirSync(dir);
    writeFakeElf(join(dir, CUDA_PROVIDER_FILE), { rodata: ['1.29.0'] });
    writeFakeElf(join(dir, SHARED_PROVIDER_FILE), {});
    const installed = JSON.parse(readFileSync(join(onnxruntimeLibraryDir(), '../../../../package.json'), 'utf8')) as {
      version: string;
    };
    await assert.rejects(
      buildWorkerRelease({ outDir: join(work, 'dist'), cudaProvider: dir, log: () => {} }),
      new RegExp(
        `onnxruntime 1\\.29\\.0 but the core library is onnxruntime ${installed.version.replace(/\./g, '\\.')}`,
      ),
    );
    assert.ok(!existsSync(join(work, 'dist', 'yi-vl-worker-0.1.0-linux-x64-cuda')), 'nothing built');
  });
});
