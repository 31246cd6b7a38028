/**
 * `npm run model -- prepare` and `MODEL=` at `npm start`: pull (Hub sources) → convert → verify, each step skipped
 * when its result is already there. `.prepared.json` in the converted folder records what it was made from (the
 * snapshot's files and checksums, the dtype, the converter version); a conversion runs only when that changes or
 * the folder fails verification, and it is written beside the old one and swapped in only when complete.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { convertCheckpoint } from '../converter/convert.ts';
import type { WeightDtype } from '../converter/model-builder.ts';
import { CONVERTER_VERSION } from '../converter/version.ts';
import type { FreeSpaceReader } from './disk-space.ts';
import { DEFAULT_HUB_URL } from './hub-env.ts';
import { CHECKPOINT_DIR, convertedDirName, type ModelSource, preparedRoot } from './model-source.ts';
import { type PullEvent, pullRepo, readSourceStamp, SOURCE_STAMP } from './pull.ts';
import { formatBytes } from './units.ts';
import { ModelVerifyError, verifyModel } from './verify.ts';

export const PREPARED_RECORD = '.prepared.json';

export interface HubOptions {
  hubUrl?: string;
  accessToken?: string;
  concurrency?: number;
  retryDelayMs?: number;
  freeBytes?: FreeSpaceReader;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export interface PrepareOptions {
  source: ModelSource;
  /** folder of prepared models (`<LOCAL_DATA_DIR>/models`); ignored when `out` is given */
  modelsDir: string;
  /** the prepared folder itself (checkpoint/ and onnx-<dtype>/ go inside) */
  out?: string;
  /** Hub sources: branch, tag or commit (default main) */
  revision?: string;
  dtype: WeightDtype;
  int4Compute?: 'float32' | 'float16';
  hub?: HubOptions;
  onPull?: (event: PullEvent) => void;
  log?: (line: string) => void;
  /**
   * Use an earlier preparation of this source as it is, without asking the Hub whether the revision moved (what
   * `npm start` does; `prepare` asks every time).
   */
  reuse?: boolean;
}

export interface PreparedModel {
  /** the converted model folder (MODEL_DIR) */
  modelDir: string;
  checkpointDir: string | null;
  /** Hub sources: the commit the model was made from */
  commit: string | null;
  pulledBytes: number;
  converted: boolean;
  /** 'hashed': every file hashed now; 'stamp': an earlier full check still holds */
  verified: 'hashed' | 'stamp';
}

interface PreparedRecord {
  source: { repo: string; revision: string; commit: string; hubUrl: string } | { checkpoint: string };
  /** sha256 over the checkpoint's files (path and checksum, or path, size and mtime for local folders) */
  checkpointFiles: string;
  dtype: WeightDtype;
  int4Compute: 'float32' | 'float16';
  converter: string;
}

function readRecord(modelDir: string): PreparedRecord | null {
  try {
    return JSON.parse(readFileSync(join(modelDir, PREPARED_RECORD), 'utf8')) as PreparedRecord;
  } catch {
    return null;
  }
}

/** Fingerprint of a checkpoint folder: the pull's checksums when it came from the Hub, else sizes and mtimes. */
function checkpointFingerprint(dir: string): string {
  const h = createHash('sha256');
  const stamp = readSourceStamp(dir);
  if (stamp?.complete) {
    for (const path of Object.keys(stamp.files).sort()) h.update(`${path} ${stamp.files[path]!.checksum}\n`);
    return h.digest('hex');
  }
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === SOURCE_STAMP || name.endsWith('.part')) continue;
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else h.update(`${relative(dir, p)} ${s.size} ${s.mtimeMs}\n`);
    }
  };
  walk(dir);
  return h.digest('hex');
}

const sameBuild = (a: PreparedRecord | null, b: Omit<PreparedRecord, 'source'>) =>
  !!a &&
  a.checkpointFiles === b.checkpointFiles &&
  a.dtype === b.dtype &&
  a.int4Compute === b.int4Compute &&
  a.converter === b.converter;

export async function prepareModel(opts: PrepareOptions): Promise<PreparedModel> {
  const log = opts.log ?? (() => {});
  const { source } = opts;
  const verify = async (dir: string) => {
    const r = await verifyModel(dir, {});
    log(
      r.hashed
        ? `verified ${r.files} files (${formatBytes(r.bytes)}) against the sha256s in manifest.json`
        : `verified: unchanged since its last full check (${r.files} files)`,
    );
    return r.hashed ? ('hashed' as const) : ('stamp' as const);
  };
  if (source.kind === 'converted') {
    return {
      modelDir: source.dir,
      checkpointDir: null,
      commit: null,
      pulledBytes: 0,
      converted: false,
      verified: await verify(source.dir),
    };
  }
  const int4Compute = opts.int4Compute ?? 'float32';
  const root = opts.out ?? preparedRoot(source, opts.modelsDir);
  const modelDir = join(root, convertedDirName(opts.dtype, int4Compute));
  const checkpointDir = source.kind === 'checkpoint' ? source.dir : join(root, CHECKPOINT_DIR);
  const revision = opts.revision ?? 'main';
  const existing = readRecord(modelDir);

  // Local sources are compared below without any network; a Hub source is trusted as prepared when asked to.
  if (opts.reuse && source.kind === 'hub' && existing && existsSync(join(modelDir, 'manifest.json'))) {
    const s = existing.source;
    const sameSource =
      'repo' in s &&
      s.repo === source.repo &&
      (opts.revision === undefined || [s.revision, s.commit].includes(revision));
    const sameSettings =
      existing.dtype === opts.dtype && existing.int4Compute === int4Compute && existing.converter === CONVERTER_VERSION;
    if (sameSource && sameSettings) {
      try {
        const verified = await verify(modelDir);
        return {
          modelDir,
          checkpointDir,
          commit: 'commit' in s ? s.commit : null,
          pulledBytes: 0,
          converted: false,
          verified,
        };
      } catch (err) {
        if (!(err instanceof ModelVerifyError)) throw err;
        log(`${err.message}\npreparing it again`);
      }
    }
  }

  // With `reuse`, a complete pull of the same repository is converted as it is (e.g. another dtype, offline).
  const pulledBefore = source.kind === 'hub' ? readSourceStamp(checkpointDir) : null;
  const reusePull =
    !!opts.reuse &&
    source.kind === 'hub' &&
    !!pulledBefore?.complete &&
    pulledBefore.repo === source.repo &&
    (opts.revision === undefined || [pulledBefore.revision, pulledBefore.commit].includes(revision));

  let recordSource: PreparedRecord['source'];
  let pulledBytes = 0;
  let commit: string | null = null;
  if (source.kind === 'hub' && !reusePull) {
    const pulled = await pullRepo({
      repo: source.repo,
      revision,
      out: checkpointDir,
      ...opts.hub,
      ...(opts.onPull ? { onEvent: opts.onPull } : {}),
    });
    pulledBytes = pulled.fetchedBytes;
    commit = pulled.commit;
    recordSource = { repo: source.repo, revision, commit, hubUrl: opts.hub?.hubUrl ?? DEFAULT_HUB_URL };
  } else {
    const stamp = readSourceStamp(checkpointDir);
    if (stamp?.complete) commit = stamp.commit;
    recordSource = stamp?.complete
      ? { repo: stamp.repo, revision: stamp.revision, commit: stamp.commit, hubUrl: stamp.hubUrl }
      : { checkpoint: checkpointDir };
  }
  const build = {
    checkpointFiles: checkpointFingerprint(checkpointDir),
    dtype: opts.dtype,
    int4Compute,
    converter: CONVERTER_VERSION,
  };

  if (sameBuild(existing, build) && existsSync(join(modelDir, 'manifest.json'))) {
    try {
      log(`conversion to ${opts.dtype} is up to date: ${modelDir}`);
      return { modelDir, checkpointDir, commit, pulledBytes, converted: false, verified: await verify(modelDir) };
    } catch (err) {
      if (!(err instanceof ModelVerifyError)) throw err;
      log(`${err.message}\nconverting again`);
    }
  }

  const building = `${modelDir}.converting`;
  await rm(building, { recursive: true, force: true });
  log(
    `converting ${checkpointDir} to ${opts.dtype}${opts.dtype === 'int4' ? ` (${int4Compute} compute)` : ''} → ${modelDir}`,
  );
  const t0 = performance.now();
  await convertCheckpoint({
    checkpoint: checkpointDir,
    out: building,
    dtype: opts.dtype,
    int4Compute,
    onProgress: (msg) => log(`  [convert ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}`),
  });
  const record: PreparedRecord = { source: recordSource, ...build };
  await writeFile(join(building, PREPARED_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  await rm(modelDir, { recursive: true, force: true });
  await rename(building, modelDir);
  return { modelDir, checkpointDir, commit, pulledBytes, converted: true, verified: await verify(modelDir) };
}
