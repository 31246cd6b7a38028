/**
 * `npm run submit -- --batch requests.jsonl`: submits a JSON Lines file as one batch, shows its progress until it
 * ends (a bar redrawn in place on a terminal, otherwise a plain line per long poll: every 10 s or when it ends), writes the results file and
 * prints a summary. Ctrl-C once cancels the batch and keeps showing progress until it has ended; twice exits.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { problemText } from './api-problem.ts';

export interface BatchCounts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}

interface BatchView {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'canceling' | 'canceled';
  counts: BatchCounts;
}

export interface SubmitBatchOptions {
  api: string;
  key: string;
  file: string;
  webhook?: string;
  out?: string;
  idempotencyKey?: string;
  /** Where progress and messages go (stderr); `isTTY` chooses the redrawn bar. */
  stream?: NodeJS.WriteStream;
}

const ENDED = new Set(['completed', 'canceled']);

/** `[#####.....] 523/1000  ok 510  failed 13  running 4` (`canceled N` only when some were). */
export function renderProgress(counts: BatchCounts, width = 30): string {
  const ended = counts.succeeded + counts.failed + counts.canceled;
  const filled = counts.total > 0 ? Math.min(width, Math.floor((ended / counts.total) * width)) : 0;
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const parts = [
    `${bar} ${ended}/${counts.total}`,
    `ok ${counts.succeeded}`,
    `failed ${counts.failed}`,
    `running ${counts.running}`,
  ];
  if (counts.canceled > 0) parts.push(`canceled ${counts.canceled}`);
  return parts.join('  ');
}

/** One progress line: the bar, then the batch status while it is anything but running. */
export function progressLine(batch: Pick<BatchView, 'status' | 'counts'>, width = 30): string {
  const bar = renderProgress(batch.counts, width);
  return batch.status === 'running' ? bar : `${bar}  (${batch.status})`;
}

/** `requests.jsonl` → `requests.jsonl.results.jsonl`, beside the input. */
export function defaultResultsPath(file: string): string {
  return `${file}.results.jsonl`;
}

/** Submits, follows and collects one batch; resolves to the exit code (0: completed, 1: refused, failed or canceled). */
export async function submitBatch(opts: SubmitBatchOptions): Promise<number> {
  const out = opts.stream ?? process.stderr;
  const say = (line: string) => out.write(`${line}\n`);
  const auth = { authorization: `Bearer ${opts.key}` };
  const tty = out.isTTY === true;

  const form = new FormData();
  form.set('requests', new Blob([await readFile(opts.file)], { type: 'application/x-ndjson' }), basename(opts.file));
  if (opts.webhook) form.set('webhook', opts.webhook);
  const headers: Record<string, string> = { ...auth };
  if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
  const created = await fetch(`${opts.api}/v1/batches`, { method: 'POST', headers, body: form });
  if (created.status !== 202) {
    say(`the API refused the batch: ${await problemText(created)}`);
    return 1;
  }
  let batch = (await created.json()) as BatchView;
  say(
    `batch ${batch.id} accepted: ${batch.counts.total} requests${created.headers.get('idempotent-replayed') ? ' (replayed: the same key was used before)' : ''}`,
  );

  // Ctrl-C: the first cancels the batch (and cuts the current long poll short, so "canceling" shows at once); the
  // second leaves the batch as it is and exits.
  let interrupts = 0;
  let poll = new AbortController();
  const onInterrupt = () => {
    interrupts++;
    if (interrupts > 1) {
      if (tty) out.write('\n');
      say(`left batch ${batch.id} ${batch.status}; follow it with GET ${opts.api}/v1/batches/${batch.id}`);
      process.exit(130);
    }
    if (tty) out.write('\n');
    say('canceling the batch (Ctrl-C again to exit without waiting)…');
    void fetch(`${opts.api}/v1/batches/${batch.id}/cancel`, { method: 'POST', headers: auth })
      .then(async (res) => {
        if (!res.ok) say(`cancel refused: ${await problemText(res)}`);
      })
      .catch((err: unknown) => say(`cancel failed: ${(err as Error).message}`))
      .finally(() => poll.abort());
  };
  process.on('SIGINT', onInterrupt);
  try {
    const started = Date.now();
    for (;;) {
      const line = progressLine(batch);
      if (tty) out.write(`\r${line}\x1b[K`);
      else say(`${((Date.now() - started) / 1000).toFixed(0).padStart(6)} s  ${line}`);
      if (ENDED.has(batch.status)) break;
      poll = new AbortController();
      let res: Response;
      try {
        // The long poll answers when the batch ends or after N seconds: a short N keeps the bar moving.
        res = await fetch(`${opts.api}/v1/batches/${batch.id}`, {
          headers: { ...auth, prefer: `wait=${tty ? 3 : 10}` },
          signal: poll.signal,
        });
        if (res.ok) batch = (await res.json()) as BatchView;
      } catch (err) {
        if (poll.signal.aborted) continue;
        throw err;
      }
      if (!res.ok) {
        if (tty) out.write('\n');
        say(`polling failed: ${await problemText(res)}`);
        return 1;
      }
    }
    if (tty) out.write('\n');
  } finally {
    process.off('SIGINT', onInterrupt);
  }

  const path = opts.out ?? defaultResultsPath(opts.file);
  const results = await fetch(`${opts.api}/v1/batches/${batch.id}/results`, { headers: auth });
  if (!results.ok) {
    say(`fetching the results failed: ${await problemText(results)}`);
    return 1;
  }
  await writeFile(path, Buffer.from(await results.arrayBuffer()));
  const c = batch.counts;
  const partial = results.headers.get('batch-results') === 'partial' ? ' (partial: some items had not ended)' : '';
  say(
    `batch ${batch.id} ${batch.status}: ${c.total} requests — ${c.succeeded} succeeded, ${c.failed} failed, ${c.canceled} canceled`,
  );
  say(`results: ${path}${partial}`);
  return batch.status === 'completed' ? 0 : 1;
}
