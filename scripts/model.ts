#!/usr/bin/env tsx
/**
 * npm run model -- pull 01-ai/Yi-VL-6B [--revision <sha|branch>] [--out <dir>] [--concurrency 4]
 * npm run model -- prepare 01-ai/Yi-VL-6B --dtype fp16|int4|fp32 [--revision …] [--out <dir>] [--int4-compute fp32|fp16]
 * npm run model -- verify <converted-model-dir>
 *
 * HF_TOKEN (gated or private repositories), HF_ENDPOINT (a mirror), LOCAL_DATA_DIR (default folder: .local/models).
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { WeightDtype } from '../gpu-worker/converter/model-builder.ts';
import { modelSourceEnvSchema } from '../gpu-worker/model-hub/hub-env.ts';
import { isRepoId, parseModelSource, preparedRoot } from '../gpu-worker/model-hub/model-source.ts';
import { prepareModel } from '../gpu-worker/model-hub/prepare.ts';
import { pullProgress } from '../gpu-worker/model-hub/progress.ts';
import { pullRepo } from '../gpu-worker/model-hub/pull.ts';
import { formatBytes } from '../gpu-worker/model-hub/units.ts';
import { verifyModel } from '../gpu-worker/model-hub/verify.ts';
import { ConfigError, parseEnv } from '../shared/config/env.ts';

const USAGE = `usage:
  npm run model -- pull <owner/name> [--revision <sha|branch>] [--out <dir>] [--concurrency 4]
  npm run model -- prepare <owner/name|folder> --dtype fp16|int4|fp32 [--revision <sha|branch>] [--out <dir>] [--int4-compute fp32|fp16]
  npm run model -- verify <converted-model-dir>
environment: HF_TOKEN (gated or private repositories), HF_ENDPOINT (mirror), LOCAL_DATA_DIR (default folder: .local/models)`;

class UsageError extends Error {}

const say = (line: string) => process.stderr.write(`${line}\n`);
const shown = (dir: string) => {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') ? rel : dir;
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      revision: { type: 'string' },
      out: { type: 'string' },
      dtype: { type: 'string' },
      'int4-compute': { type: 'string', default: 'fp32' },
      concurrency: { type: 'string', default: '4' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, target, ...extra] = positionals;
  if (!command || !target || extra.length > 0) throw new UsageError('expected a command and one repository or folder');
  const env = parseEnv(modelSourceEnvSchema, process.env);
  const modelsDir = join(resolve(env.LOCAL_DATA_DIR), 'models');
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
    throw new UsageError('--concurrency must be 1…16');
  const hub = {
    hubUrl: env.HF_ENDPOINT,
    concurrency,
    ...(env.HF_TOKEN ? { accessToken: env.HF_TOKEN } : {}),
  };
  const progress = pullProgress(process.stderr);

  if (command === 'pull') {
    if (!isRepoId(target)) throw new UsageError(`pull takes a Hub repository (owner/name), got "${target}"`);
    const out = values.out
      ? resolve(values.out)
      : join(preparedRoot({ kind: 'hub', repo: target }, modelsDir), 'checkpoint');
    const r = await pullRepo({
      repo: target,
      ...(values.revision ? { revision: values.revision } : {}),
      out,
      ...hub,
      onEvent: progress,
    });
    say(`checkpoint ready: ${shown(r.dir)} (${r.repo} @ ${r.commit.slice(0, 12)}, ${r.files.length} files)`);
    say(`convert it: npm run model -- prepare ${shown(r.dir)} --dtype int4   (or fp16 for CUDA)`);
    console.log(r.dir);
    return 0;
  }

  if (command === 'prepare') {
    const dtype = values.dtype;
    if (dtype !== 'fp32' && dtype !== 'fp16' && dtype !== 'int4')
      throw new UsageError(
        dtype === undefined
          ? '--dtype is required: fp16 (CUDA), int4 (CPU, small GPUs) or fp32'
          : `--dtype must be fp16, int4 or fp32, got "${dtype}"`,
      );
    const int4Compute = values['int4-compute'];
    if (int4Compute !== 'fp32' && int4Compute !== 'fp16') throw new UsageError('--int4-compute must be fp32 or fp16');
    const source = parseModelSource(target);
    if (source.kind !== 'hub' && values.revision) throw new UsageError('--revision applies to Hub repositories only');
    const t0 = performance.now();
    const r = await prepareModel({
      source,
      modelsDir,
      ...(values.out ? { out: resolve(values.out) } : {}),
      ...(values.revision ? { revision: values.revision } : {}),
      dtype: dtype as WeightDtype,
      int4Compute: int4Compute === 'fp16' ? 'float16' : 'float32',
      hub,
      onPull: progress,
      log: say,
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    say(
      `model ready in ${secs} s: ${shown(r.modelDir)}` +
        (r.commit
          ? ` (${source.kind === 'hub' ? source.repo : 'from'} @ ${r.commit.slice(0, 12)}, ${dtype})`
          : ` (${dtype})`),
    );
    say(
      source.kind === 'hub' && !values.out
        ? `start the local stack with it: MODEL=${source.repo}${dtype === 'int4' ? '' : ` MODEL_DTYPE=${dtype}`} npm start`
        : `start the local stack with it: MODEL_DIR=${shown(r.modelDir)} npm start`,
    );
    say(`or upload it once for any number of workers: aws s3 sync ${shown(r.modelDir)} s3://<bucket>/models/<name>/`);
    console.log(r.modelDir);
    return 0;
  }

  if (command === 'verify') {
    const r = await verifyModel(resolve(target), { full: true });
    say(`${shown(resolve(target))}: ${r.files} files (${formatBytes(r.bytes)}) match manifest.json`);
    return 0;
  }
  throw new UsageError(`unknown command "${command}"`);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (
    err instanceof UsageError ||
    (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    say(`${err.message}\n${USAGE}`);
    process.exitCode = 2;
  } else if (err instanceof ConfigError) {
    say(err.message);
    process.exitCode = 2;
  } else {
    say(`model: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
