// The two checksums the Hub publishes per file: the sha256 of an LFS object, and the git blob id of a plain file.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type Checksum = { kind: 'sha256'; hex: string } | { kind: 'git-blob'; hex: string };

/** A running hash of a file's bytes that ends in the same form as `checksum.hex`. */
export function startChecksum(kind: Checksum['kind'], size: number): Hash {
  if (kind === 'sha256') return createHash('sha256');
  // git hashes "blob <size>\0" + content with sha1
  return createHash('sha1').update(`blob ${size}\0`);
}

/** Feeds the first `length` bytes of a file (all of it when omitted) into `hash`. */
export async function hashFileInto(path: string, hash: Hash, length?: number): Promise<void> {
  if (length === 0) return;
  const stream = createReadStream(path, {
    highWaterMark: 1 << 22,
    ...(length !== undefined ? { start: 0, end: length - 1 } : {}),
  });
  for await (const chunk of stream) hash.update(chunk as Buffer);
}

export async function fileChecksum(path: string, kind: Checksum['kind'], size: number): Promise<string> {
  const hash = startChecksum(kind, size);
  await hashFileInto(path, hash);
  return hash.digest('hex');
}

export function describeChecksum(c: Checksum): string {
  return c.kind === 'sha256' ? `sha256 ${c.hex}` : `git blob ${c.hex}`;
}
