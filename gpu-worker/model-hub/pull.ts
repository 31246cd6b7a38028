/**
 * `npm run model -- pull`: the files of a Yi-VL repository that the converter needs, from the Hugging Face Hub (or
 * a mirror) through `@huggingface/hub`: the revision is pinned to one commit, the free disk space is checked before
 * the first byte, several files download at once, each resumable and checked against the checksum the Hub lists.
 * `.hub-source.json` in the folder records what is complete, so a second pull fetches only what changed or is missing.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import { fileChecksum } from './checksum.ts';
import { ensureFreeSpace, type FreeSpaceReader, statfsFreeBytes } from './disk-space.ts';
import { downloadVerified, type HubLocation } from './download-file.ts';
import { DEFAULT_HUB_URL } from './hub-env.ts';
import { type RepoEntry, type RepoFile, selectConverterFiles } from './repo-files.ts';

export const SOURCE_STAMP = '.hub-source.json';

export interface PullOptions {
  /** `owner/name` */
  repo: string;
  /** branch, tag or commit id (default `main`) */
  revision?: string;
  out: string;
  /** Hub or mirror base URL (HF_ENDPOINT) */
  hubUrl?: string;
  /** HF_TOKEN, for gated and private repositories */
  accessToken?: string;
  /** files downloading at once (default 4) */
  concurrency?: number;
  retries?: number;
  retryDelayMs?: number;
  stallTimeoutMs?: number;
  freeBytes?: FreeSpaceReader;
  onEvent?: (event: PullEvent) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export type PullEvent =
  | {
      type: 'plan';
      repo: string;
      revision: string;
      commit: string;
      out: string;
      files: number;
      totalBytes: number;
      /** bytes already on disk: complete files and `.part` files */
      presentBytes: number;
      freeBytes: number;
    }
  | { type: 'bytes'; path: string; delta: number }
  | { type: 'file'; path: string; size: number; resumedFrom: number; fetched: number }
  | { type: 'done'; fetchedBytes: number; seconds: number };

export interface PullResult {
  repo: string;
  revision: string;
  commit: string;
  dir: string;
  files: RepoFile[];
  /** paths fetched (wholly or in part) by this pull */
  downloaded: string[];
  /** paths that were already complete */
  present: string[];
  fetchedBytes: number;
}

/** What `.hub-source.json` holds: the snapshot and every file verified so far. */
export interface SourceStamp {
  repo: string;
  revision: string;
  commit: string;
  hubUrl: string;
  files: Record<string, { size: number; checksum: string }>;
  complete: boolean;
}

/** Clear refusals from the Hub: unknown or private repository, gated repository, unknown revision. */
export class HubAccessError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'HubAccessError';
  }
}

export function readSourceStamp(dir: string): SourceStamp | null {
  try {
    return JSON.parse(readFileSync(join(dir, SOURCE_STAMP), 'utf8')) as SourceStamp;
  } catch {
    return null;
  }
}

const checksumKey = (f: RepoFile) => `${f.checksum.kind}:${f.checksum.hex}`;

function explain(
  err: unknown,
  ctx: { repo: string; revision: string; hubUrl: string; token: boolean; gated: boolean },
) {
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    return new HubAccessError(
      `could not reach ${ctx.hubUrl}: ${cause?.code ?? cause?.message ?? err.message} (network, or HF_ENDPOINT)`,
      0,
    );
  }
  if (!(err instanceof HubApiError)) return err;
  const page = `${ctx.hubUrl}/${ctx.repo}`;
  const said = typeof err.data?.error === 'string' ? ` (the Hub says: ${err.data.error})` : '';
  const gated = ctx.gated || /gated|restricted/i.test(String(err.data?.error ?? ''));
  if (err.statusCode === 401 || err.statusCode === 403) {
    if (gated)
      return new HubAccessError(
        ctx.token
          ? `${ctx.repo} is gated and HF_TOKEN has no access to it: accept its conditions at ${page} with the token's account${said}`
          : `${ctx.repo} is gated: accept its conditions at ${page}, then set HF_TOKEN to an access token (hf_…) of that account${said}`,
        err.statusCode,
      );
    return new HubAccessError(
      ctx.token
        ? `${ctx.hubUrl} refused HF_TOKEN for ${ctx.repo} (HTTP ${err.statusCode}): check the token and its permissions${said}`
        : `${ctx.repo} was not found on ${ctx.hubUrl}, or it is private: check the name, or set HF_TOKEN${said}`,
      err.statusCode,
    );
  }
  if (err.statusCode === 404)
    return new HubAccessError(
      `${ctx.repo}: no revision "${ctx.revision}" or no such repository on ${ctx.hubUrl}${said}`,
      404,
    );
  return err;
}

function inside(dir: string, path: string): string {
  const target = resolve(dir, path);
  if (!target.startsWith(resolve(dir) + sep)) throw new Error(`repository path escapes the folder: ${path}`);
  return target;
}

async function runPool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, lane));
}

export async function pullRepo(opts: PullOptions): Promise<PullResult> {
  const started = performance.now();
  const hubUrl = (opts.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const revision = opts.revision ?? 'main';
  const dir = resolve(opts.out);
  const emit = opts.onEvent ?? (() => {});
  const ctx = { repo: opts.repo, revision, hubUrl, token: !!opts.accessToken, gated: false };
  const creds = {
    hubUrl,
    ...(opts.accessToken ? { accessToken: opts.accessToken } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  };

  // Pin the revision to a commit, so that every file comes from one snapshot even if the branch moves meanwhile.
  let commit: string;
  let entries: RepoEntry[] = [];
  try {
    const info = await modelInfo({ name: opts.repo, revision, additionalFields: ['sha'], ...creds });
    commit = info.sha;
    ctx.gated = !!info.gated;
    for await (const e of listFiles({ repo: opts.repo, revision: commit, recursive: true, ...creds })) entries.push(e);
  } catch (err) {
    throw explain(err, ctx);
  }
  const files = selectConverterFiles(entries, `${opts.repo}@${revision}`);
  entries = [];

  // What is already here: files recorded as verified, unrecorded files that hash right, and `.part` files.
  const old = readSourceStamp(dir);
  const stamp: SourceStamp = { repo: opts.repo, revision, commit, hubUrl, files: {}, complete: false };
  const todo: RepoFile[] = [];
  const present: string[] = [];
  let presentBytes = 0;
  for (const f of files) {
    const target = inside(dir, f.path);
    const size = (await stat(target).catch(() => null))?.size;
    const recorded = old?.files[f.path];
    const ok =
      size === f.size &&
      ((recorded?.size === f.size && recorded.checksum === checksumKey(f)) ||
        (await fileChecksum(target, f.checksum.kind, f.size)) === f.checksum.hex);
    if (ok) {
      stamp.files[f.path] = { size: f.size, checksum: checksumKey(f) };
      present.push(f.path);
      presentBytes += f.size;
      continue;
    }
    if (size !== undefined) await rm(target, { force: true });
    todo.push(f);
    presentBytes += Math.min(f.size, (await stat(`${target}.part`).catch(() => null))?.size ?? 0);
  }
  // Files of an earlier snapshot that this one no longer has would be read by the converter: remove them.
  for (const path of Object.keys(old?.files ?? {})) {
    if (!files.some((f) => f.path === path)) await rm(inside(dir, path), { force: true });
  }
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  const freeBytes = await ensureFreeSpace(dir, totalBytes - presentBytes, opts.freeBytes ?? statfsFreeBytes);
  emit({
    type: 'plan',
    repo: opts.repo,
    revision,
    commit,
    out: dir,
    files: files.length,
    totalBytes,
    presentBytes,
    freeBytes,
  });

  let saving = Promise.resolve();
  const save = () => {
    const text = `${JSON.stringify(stamp, null, 2)}\n`;
    saving = saving.then(async () => {
      await writeFile(join(dir, `${SOURCE_STAMP}.tmp`), text);
      await rename(join(dir, `${SOURCE_STAMP}.tmp`), join(dir, SOURCE_STAMP));
    });
    return saving;
  };
  if (todo.length > 0 || !old?.complete || old.commit !== commit) {
    await mkdir(dir, { recursive: true });
    await save();
  }

  // The first failure stops the other downloads; their `.part` files stay for the next run.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  const at: HubLocation = { repo: opts.repo, revision: commit, ...creds };
  let fetchedBytes = 0;
  let firstError: unknown;
  const largestFirst = [...todo].sort((a, b) => b.size - a.size);
  await runPool(largestFirst, opts.concurrency ?? 4, async (f) => {
    if (signal.aborted) return;
    try {
      const r = await downloadVerified(at, f, inside(dir, f.path), {
        signal,
        onBytes: (delta) => emit({ type: 'bytes', path: f.path, delta }),
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
        ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
        ...(opts.stallTimeoutMs !== undefined ? { stallTimeoutMs: opts.stallTimeoutMs } : {}),
      });
      fetchedBytes += r.fetched;
      stamp.files[f.path] = { size: f.size, checksum: checksumKey(f) };
      await save();
      emit({ type: 'file', path: f.path, size: f.size, resumedFrom: r.resumedFrom, fetched: r.fetched });
    } catch (err) {
      if (firstError === undefined) firstError = explain(err, ctx);
      stop.abort(firstError);
    }
  });
  if (firstError !== undefined) {
    await saving;
    throw opts.signal?.aborted ? (opts.signal.reason ?? firstError) : firstError;
  }
  stamp.complete = true;
  await save();
  const seconds = (performance.now() - started) / 1000;
  emit({ type: 'done', fetchedBytes, seconds });
  return {
    repo: opts.repo,
    revision,
    commit,
    dir,
    files,
    downloaded: todo.map((f) => f.path),
    present,
    fetchedBytes,
  };
}
