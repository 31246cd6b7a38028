/**
 * Checks a converted model folder against its `manifest.json`: every listed file present with its byte count and
 * sha256. Hashing a 12 GB model takes a while, so a successful check leaves `.verified.json` (the manifest's hash and
 * each file's size and mtime); later checks of an untouched folder read only that, unless `full` is asked for.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../converter/convert.ts';

export const VERIFIED_STAMP = '.verified.json';

export class ModelVerifyError extends Error {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(`${dir} does not match its manifest.json:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ModelVerifyError';
  }
}

export interface VerifyResult {
  files: number;
  bytes: number;
  /** false when the stamp of an earlier full check still held */
  hashed: boolean;
}

interface Stamp {
  manifestSha256: string;
  files: Record<string, { size: number; mtimeMs: number }>;
}

export async function verifyModel(
  dir: string,
  opts: { full?: boolean; onFile?: (name: string, bytes: number) => void } = {},
): Promise<VerifyResult> {
  let manifestText: string;
  try {
    manifestText = readFileSync(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new ModelVerifyError(dir, ['manifest.json is missing (not a converted model: npm run model -- prepare)']);
  }
  const manifest = JSON.parse(manifestText) as { files?: Record<string, { bytes: number; sha256: string }> };
  const listed = Object.entries(manifest.files ?? {});
  if (listed.length === 0) throw new ModelVerifyError(dir, ['manifest.json lists no files']);
  const manifestSha256 = createHash('sha256').update(manifestText).digest('hex');
  const bytes = listed.reduce((a, [, f]) => a + f.bytes, 0);

  const problems: string[] = [];
  const seen: Stamp['files'] = {};
  for (const [name, f] of listed) {
    const s = await stat(join(dir, name)).catch(() => null);
    if (!s) problems.push(`${name}: missing`);
    else if (s.size !== f.bytes) problems.push(`${name}: ${s.size} bytes, the manifest says ${f.bytes}`);
    else seen[name] = { size: s.size, mtimeMs: s.mtimeMs };
  }
  if (problems.length > 0) throw new ModelVerifyError(dir, problems);

  if (!opts.full) {
    try {
      const old = JSON.parse(readFileSync(join(dir, VERIFIED_STAMP), 'utf8')) as Stamp;
      const same =
        old.manifestSha256 === manifestSha256 &&
        listed.every(
          ([name]) => old.files[name]?.size === seen[name]!.size && old.files[name]?.mtimeMs === seen[name]!.mtimeMs,
        );
      if (same) return { files: listed.length, bytes, hashed: false };
    } catch {}
  }
  for (const [name, f] of listed) {
    const actual = await sha256File(join(dir, name));
    if (actual !== f.sha256) problems.push(`${name}: sha256 ${actual}, the manifest says ${f.sha256}`);
    opts.onFile?.(name, f.bytes);
  }
  if (problems.length > 0) throw new ModelVerifyError(dir, problems);
  const stamp: Stamp = { manifestSha256, files: seen };
  await writeFile(join(dir, `${VERIFIED_STAMP}.tmp`), `${JSON.stringify(stamp, null, 2)}\n`);
  await rename(join(dir, `${VERIFIED_STAMP}.tmp`), join(dir, VERIFIED_STAMP));
  return { files: listed.length, bytes, hashed: true };
}
