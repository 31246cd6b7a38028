import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigError } from '../../shared/config/env.ts';
import { type LocalAws, startLocalAws } from '../../test/support/local-aws.ts';
import { parseS3Uri } from '../lib/s3-uri.ts';
import { loadModelPullConfig, pullModel, STAMP_FILE } from './pull-model.ts';

/** The container's entry (`node --import tsx infra/docker/pull-model.ts`) with exactly `env` (plus PATH). */
function runEntry(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/docker/pull-model.ts'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise<{ code: number | null; out: string }>((r) => child.on('close', (code) => r({ code, out })));
}

let aws: LocalAws;
const dir = mkdtempSync(join(tmpdir(), 'model-pull-'));
const put = (key: string, body: string | Uint8Array) =>
  aws.s3Client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: body }));

before(async () => {
  aws = await startLocalAws();
  await put('models/m1/manifest.json', '{"format":"yi-vl-onnx"}');
  await put('models/m1/decoder.onnx', 'graph');
  await put('models/m1/decoder.onnx.data', new Uint8Array(300_000).fill(7));
  await put('models/m1/sub/tokenizer.model', 'tok');
  await put('models/other/manifest.json', '{}');
});
after(async () => {
  await aws.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pullModel (local S3 server)', () => {
  test('copies the prefix, then skips unchanged files and refetches changed or missing ones', async () => {
    const uri = `s3://${aws.bucket}/models/m1`;
    const first = await pullModel({ client: aws.s3Client, uri, dir });
    assert.deepEqual(first.downloaded.sort(), [
      'decoder.onnx',
      'decoder.onnx.data',
      'manifest.json',
      'sub/tokenizer.model',
    ]);
    assert.equal(readFileSync(join(dir, 'decoder.onnx.data')).length, 300_000);
    assert.equal(readFileSync(join(dir, 'sub/tokenizer.model'), 'utf8'), 'tok');
    assert.ok(existsSync(join(dir, STAMP_FILE)));
    assert.ok(!existsSync(join(dir, '..', 'other')));

    await put('models/m1/decoder.onnx', 'graph v2');
    rmSync(join(dir, 'manifest.json'));
    writeFileSync(join(dir, 'sub/tokenizer.model'), 'truncated-or-edited!');
    const second = await pullModel({ client: aws.s3Client, uri, dir });
    assert.deepEqual(second.downloaded.sort(), ['decoder.onnx', 'manifest.json', 'sub/tokenizer.model']);
    assert.deepEqual(second.skipped, ['decoder.onnx.data']);
    assert.equal(readFileSync(join(dir, 'decoder.onnx'), 'utf8'), 'graph v2');
  });

  test('refuses a prefix without a converted model', async () => {
    await assert.rejects(
      pullModel({ client: aws.s3Client, uri: `s3://${aws.bucket}/models/none/`, dir: join(dir, 'x') }),
      /no manifest\.json/,
    );
  });

  test('parses model URIs', () => {
    assert.deepEqual(parseS3Uri('s3://my-models/yi/6b'), { bucket: 'my-models', prefix: 'yi/6b/' });
    assert.deepEqual(parseS3Uri('s3://my-models'), { bucket: 'my-models', prefix: '' });
    assert.throws(() => parseS3Uri('https://x/y'), /s3:\/\//);
  });

  test('the environment is read once through shared/config: every problem in one message, exit 2', async () => {
    assert.throws(
      () => loadModelPullConfig({ MODEL_S3_URI: 'https://bucket/models', S3_FORCE_PATH_STYLE: 'maybe' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), [
          'AWS_REGION is required',
          'MODEL_DIR is required',
          'MODEL_S3_URI',
          'S3_FORCE_PATH_STYLE',
        ]);
        assert.ok(err.problems.includes('MODEL_S3_URI: must be s3://bucket/prefix/'));
        return true;
      },
    );
    const bad = await runEntry({ AWS_REGION: 'us-east-1', MODEL_S3_URI: 'https://bucket/models', MODEL_DIR: dir });
    assert.equal(bad.code, 2, bad.out);
    assert.match(
      bad.out,
      /^pull-model: invalid configuration:\n {2}- MODEL_S3_URI: must be s3:\/\/bucket\/prefix\/\n$/,
    );
  });

  test('the container entry pulls with the configured endpoint and path style', async () => {
    const target = join(dir, 'entry');
    const { AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, S3_FORCE_PATH_STYLE } = aws.env;
    const ok = await runEntry({
      ...({ AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, S3_FORCE_PATH_STYLE } as Record<
        string,
        string
      >),
      MODEL_S3_URI: `s3://${aws.bucket}/models/m1/`,
      MODEL_DIR: target,
    });
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /"msg":"model ready".*"downloaded":4/);
    assert.ok(existsSync(join(target, 'manifest.json')));
  });
});
