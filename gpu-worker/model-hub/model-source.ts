/**
 * What `MODEL=` (and `npm run model -- prepare <source>`) may name, and where a prepared model lives:
 * a Hub repository `owner/name`, a converted model folder, a Yi-VL checkpoint folder, or a folder `prepare` wrote.
 *
 *   <models>/01-ai--Yi-VL-6B/checkpoint/     the pulled files (official layout) + .hub-source.json
 *   <models>/01-ai--Yi-VL-6B/onnx-int4/      the converted model + .prepared.json + .verified.json
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { WeightDtype } from '../converter/model-builder.ts';

export type ModelSource =
  | { kind: 'hub'; repo: string }
  | { kind: 'converted'; dir: string }
  | { kind: 'checkpoint'; dir: string }
  | { kind: 'prepared'; root: string };

export const CHECKPOINT_DIR = 'checkpoint';
const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

export function isRepoId(value: string): boolean {
  return REPO_ID.test(value) && !value.split('/').some((p) => p === '.' || p === '..');
}

/** A local folder wins over a repository of the same name, as in the Hub's own libraries. */
export function parseModelSource(value: string, cwd = process.cwd()): ModelSource {
  const expanded = value === '~' || value.startsWith('~/') ? join(homedir(), value.slice(1)) : value;
  const dir = resolve(cwd, expanded);
  const pathLike = /^(~|\.{1,2})?[/\\]/.test(value) || value === '.' || value === '..' || existsSync(dir);
  if (!pathLike) {
    if (isRepoId(value)) return { kind: 'hub', repo: value };
    throw new Error(`"${value}" is neither a Hub repository (owner/name, e.g. 01-ai/Yi-VL-6B) nor an existing folder`);
  }
  if (!existsSync(dir)) throw new Error(`${dir}: no such folder`);
  if (existsSync(join(dir, 'manifest.json'))) return { kind: 'converted', dir };
  if (existsSync(join(dir, CHECKPOINT_DIR, 'config.json'))) return { kind: 'prepared', root: dir };
  if (existsSync(join(dir, 'config.json'))) return { kind: 'checkpoint', dir };
  throw new Error(
    `${dir}: not a converted model (manifest.json), a Yi-VL checkpoint (config.json) or a folder written by prepare`,
  );
}

/** The folder a source is prepared in, under `modelsDir` unless an explicit `out` is given. */
export function preparedRoot(source: Exclude<ModelSource, { kind: 'converted' }>, modelsDir: string): string {
  if (source.kind === 'prepared') return source.root;
  if (source.kind === 'hub') return join(resolve(modelsDir), source.repo.replace('/', '--'));
  const tag = createHash('sha256').update(source.dir).digest('hex').slice(0, 8);
  return join(resolve(modelsDir), `local--${basename(source.dir)}-${tag}`);
}

/** `onnx-fp16`, `onnx-int4`, or `onnx-int4-fp16` for int4 weights with float16 compute (CUDA). */
export function convertedDirName(dtype: WeightDtype, int4Compute: 'float32' | 'float16' = 'float32'): string {
  return dtype === 'int4' && int4Compute === 'float16' ? 'onnx-int4-fp16' : `onnx-${dtype}`;
}
