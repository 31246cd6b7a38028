/**
 * Progress of a pull for people: on a terminal one bar redrawn in place (percent, bytes, rate, ETA); elsewhere (CI,
 * logs, a piped `npm start`) plain lines — the plan, one line per file, and a status line every few seconds.
 */
import type { PullEvent } from './pull.ts';
import { formatBytes, formatDuration } from './units.ts';

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** a terminal (default: `sink.isTTY`) */
  tty?: boolean;
  /** milliseconds between status lines when not on a terminal (default 10 000) */
  lineEveryMs?: number;
  now?: () => number;
}

const BAR = 24;

export function pullProgress(sink: ProgressSink, opts: ProgressOptions = {}): (event: PullEvent) => void {
  const tty = opts.tty ?? !!sink.isTTY;
  const now = opts.now ?? (() => performance.now());
  const lineEvery = opts.lineEveryMs ?? 10_000;
  let total = 0;
  let done = 0;
  let sessionStart = 0;
  let fetched = 0;
  let lastDraw = -Infinity;
  let drawn = false;

  const status = () => {
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const seconds = (now() - sessionStart) / 1000;
    const rate = seconds >= 1 ? fetched / seconds : Number.NaN;
    const eta = rate > 0 ? (total - done) / rate : Number.NaN;
    const rateText = Number.isFinite(rate) ? `${formatBytes(rate)}/s` : '…';
    const text = `${formatBytes(done)} / ${formatBytes(total)}  ${rateText}  ETA ${formatDuration(eta)}`;
    if (!tty) return `  ${String(pct).padStart(3)}%  ${text}`;
    const filled = Math.round((BAR * pct) / 100);
    return `  ${String(pct).padStart(3)}% ${'█'.repeat(filled)}${'░'.repeat(BAR - filled)}  ${text}`;
  };
  const clear = () => {
    if (tty && drawn) sink.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (force = false) => {
    const t = now();
    if (!force && t - lastDraw < (tty ? 100 : lineEvery)) return;
    lastDraw = t;
    if (tty) {
      sink.write(`\r\x1b[2K${status()}`);
      drawn = true;
    } else {
      sink.write(`${status()}\n`);
    }
  };

  return (e) => {
    switch (e.type) {
      case 'plan': {
        total = e.totalBytes;
        done = e.presentBytes;
        sessionStart = now();
        lastDraw = sessionStart;
        const rev = e.revision === e.commit ? e.commit.slice(0, 12) : `${e.revision} → ${e.commit.slice(0, 12)}`;
        const toFetch = total - done;
        sink.write(
          `pulling ${e.repo} (${rev}) into ${e.out}: ${e.files} files, ${formatBytes(total)}` +
            (toFetch === 0
              ? ', all here already\n'
              : `, ${formatBytes(toFetch)} to download (${formatBytes(e.freeBytes)} free)\n`),
        );
        if (toFetch > 0 && tty) draw(true);
        return;
      }
      case 'bytes':
        done += e.delta;
        fetched += Math.max(0, e.delta);
        draw();
        return;
      case 'file':
        clear();
        sink.write(
          `  ✓ ${e.path} (${formatBytes(e.size)}${e.resumedFrom > 0 ? `, resumed at ${formatBytes(e.resumedFrom)}` : ''}, checksum ok)\n`,
        );
        if (tty && done < total) draw(true);
        return;
      case 'done':
        clear();
        sink.write(
          e.fetchedBytes > 0
            ? `pulled ${formatBytes(e.fetchedBytes)} in ${formatDuration(e.seconds)} (${formatBytes(e.fetchedBytes / Math.max(e.seconds, 1e-3))}/s)\n`
            : 'nothing to download: every file is here and verified\n',
        );
        return;
    }
  };
}
