/**
 * A small client for the API: uploads an image with a question, shows the job's progress while it waits, and
 * prints the answer.  npm run submit -- <image> "<question>" [--parent <job id>] [--api <url>] [--key <key>]
 * [--schema <file.json>] (a JSON Schema, or a whole response_format object; prints output.json when there is one)
 * [--json-object] (any JSON object)
 * Batches: npm run submit -- --batch <requests.jsonl> [--webhook <url>] [--out <results.jsonl>]
 * [--idempotency-key <key>] submits the file as one batch, shows a progress bar until it ends (Ctrl-C cancels the
 * batch, a second Ctrl-C exits) and writes the results (default: <file>.results.jsonl); see submit-batch.ts.
 * Defaults: API at http://127.0.0.1:$PORT (8787), key from YI_VL_API_KEY or LOCAL_API_KEY.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { problemText } from './api-problem.ts';
import { submitBatch } from './submit-batch.ts';

interface JobView {
  id: string;
  status: string;
  output?: { text: string; finish_reason: string; json?: unknown };
  error?: { code: string; message: string };
  usage?: { prompt_tokens: number; image_tokens: number; completion_tokens: number; gpu_ms: number; queue_ms: number };
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    api: { type: 'string' },
    key: { type: 'string' },
    parent: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    schema: { type: 'string' },
    'json-object': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
    batch: { type: 'string' },
    webhook: { type: 'string' },
    out: { type: 'string' },
    'idempotency-key': { type: 'string' },
  },
});

function usage(message: string): never {
  console.error(
    `${message}\nusage: npm run submit -- <image> "<question>"   |   npm run submit -- --parent <job id> "<question>"` +
      '\n       npm run submit -- --batch <requests.jsonl> [--webhook <url>] [--out <results.jsonl>] [--idempotency-key <key>]',
  );
  process.exit(2);
}

const api = values.api ?? process.env.YI_VL_API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
const key = values.key ?? process.env.YI_VL_API_KEY ?? process.env.LOCAL_API_KEY;
if (!key) usage('no API key: pass --key or set YI_VL_API_KEY (the local stack prints one)');
const [imagePath, question] = values.parent ? [undefined, positionals[0]] : positionals;
if (!values.batch) {
  if (!question) usage('missing the question');
  if (!values.parent && !imagePath) usage('missing the image path');
} else if (positionals.length > 0 || values.parent) usage('--batch takes the requests file alone');

const auth = { authorization: `Bearer ${key}` };

/** --schema file.json: a bare JSON Schema (named after the file), or a complete response_format object. */
async function responseFormat(): Promise<unknown> {
  if (values['json-object']) return { type: 'json_object' };
  if (!values.schema) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(values.schema, 'utf8'));
  } catch (err) {
    usage(`--schema ${values.schema}: ${(err as Error).message}`);
  }
  const asObject = parsed as { type?: unknown; json_schema?: unknown };
  if (asObject && (asObject.type === 'json_schema' || asObject.type === 'json_object') && !('properties' in asObject))
    return parsed;
  const name =
    basename(values.schema)
      .replace(/\.json$/i, '')
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 64) || 'schema';
  return { type: 'json_schema', json_schema: { name, schema: parsed, strict: true } };
}

async function create(): Promise<JobView> {
  const form = new FormData();
  form.set('prompt', question!);
  if (values.parent) form.set('parent', values.parent);
  if (values['max-new-tokens']) form.set('max_new_tokens', values['max-new-tokens']);
  if (values.temperature) form.set('temperature', values.temperature);
  const format = await responseFormat();
  if (format) form.set('response_format', JSON.stringify(format));
  if (imagePath) form.set('image', new Blob([await readFile(imagePath)]), basename(imagePath));
  const res = await fetch(`${api}/v1/jobs`, { method: 'POST', headers: auth, body: form });
  if (res.status !== 202) throw new Error(`the API refused the job: ${await problemText(res)}`);
  return (await res.json()) as JobView;
}

async function waitFor(id: string): Promise<JobView> {
  const started = Date.now();
  const deadline = started + Number(values.timeout) * 1000;
  let last = '';
  for (;;) {
    const res = await fetch(`${api}/v1/jobs/${id}`, { headers: { ...auth, prefer: 'wait=10' } });
    if (!res.ok) throw new Error(`polling failed: ${await problemText(res)}`);
    const job = (await res.json()) as JobView;
    if (job.status !== last) {
      last = job.status;
      if (!values.json) console.error(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${job.status}`);
    }
    if (['succeeded', 'failed', 'canceled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`gave up after ${values.timeout} s; the job ${id} goes on`);
  }
}

async function submitJob(): Promise<void> {
  const job = await create();
  if (!values.json) console.error(`job ${job.id} accepted`);
  const done = await waitFor(job.id);
  if (values.json) console.log(JSON.stringify(done, null, 2));
  else if (done.status === 'succeeded') {
    const json = done.output?.json;
    console.log(json !== undefined ? JSON.stringify(json, null, 2) : (done.output?.text ?? ''));
    const u = done.usage;
    if (u)
      console.error(
        `\n(${done.output?.finish_reason}; tokens: ${u.prompt_tokens} prompt + ${u.image_tokens} image + ${u.completion_tokens} completion; ${Math.round(u.gpu_ms)} ms model time, ${Math.round(u.queue_ms)} ms queued)`,
      );
    console.error(`follow up: npm run submit -- --parent ${done.id} "<question>"`);
  } else {
    console.error(`job ${done.status}: ${done.error?.code ?? ''} ${done.error?.message ?? ''}`);
    process.exitCode = 1;
  }
}

try {
  if (values.batch)
    process.exitCode = await submitBatch({
      api,
      key,
      file: values.batch,
      ...(values.webhook ? { webhook: values.webhook } : {}),
      ...(values.out ? { out: values.out } : {}),
      ...(values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {}),
    });
  else await submitJob();
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
}
