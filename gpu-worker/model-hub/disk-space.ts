// Free-space check before a download starts: a 15 GB pull should stop at once, not at 90 % with ENOSPC.
import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatBytes } from './units.ts';

/** Reads the bytes an unprivileged process may still write on the file system holding `dir`. */
export type FreeSpaceReader = (dir: string) => Promise<number>;

/** `statfs` on the folder, or on its nearest existing parent when it does not exist yet. */
export const statfsFreeBytes: FreeSpaceReader = async (dir) => {
  let at = resolve(dir);
  for (;;) {
    try {
      const s = await statfs(at);
      return s.bavail * s.bsize;
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
};

export class NoSpaceError extends Error {
  constructor(
    readonly dir: string,
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(
      `not enough disk space in ${dir}: ${formatBytes(neededBytes)} to download, ${formatBytes(freeBytes)} free ` +
        `(free ${formatBytes(neededBytes - freeBytes)} more, or choose another folder with --out)`,
    );
    this.name = 'NoSpaceError';
  }
}

/** Returns the free bytes, or throws `NoSpaceError` when fewer than `neededBytes` are free. */
export async function ensureFreeSpace(dir: string, neededBytes: number, read: FreeSpaceReader): Promise<number> {
  const free = await read(dir);
  if (neededBytes > free) throw new NoSpaceError(dir, neededBytes, free);
  return free;
}
