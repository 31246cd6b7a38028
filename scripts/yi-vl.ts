#!/usr/bin/env -S npx tsx
// Yi-VL on a converted model folder, for users and for debugging:
//   npm run yi-vl -- generate --model <onnx-dir> --image <file> --prompt <text> [--history <json>]
//     [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--repetition-penalty R] [--seed S]
//     [--device auto|cuda|cpu|webgpu] [--json] [--logits-out <file>] [--reference-intake]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { GenerationParams } from '../gpu-worker/yi-vl/generation/params.ts';
import { YiVlEngine } from '../gpu-worker/yi-vl/pipeline/engine.ts';
import { DEVICE_REQUESTS, type DeviceRequest } from '../gpu-worker/yi-vl/pipeline/sessions.ts';
import { decode448 } from '../gpu-worker/yi-vl/preprocess/decode.ts';
import type { Turn } from '../gpu-worker/yi-vl/template/mm-default.ts';
import { preprocessForYiVl } from '../shared/image/sharp-preprocess.ts';
import { DEFAULT_IMAGE_LIMITS } from '../shared/image/types.ts';

const USAGE = `usage: yi-vl generate --model <onnx-dir> --image <file> --prompt <text> [--history <json>]
  [--max-new-tokens N] [--temperature T] [--top-p P] [--top-k K] [--repetition-penalty R] [--seed S]
  [--device auto|cuda|cpu|webgpu] [--json] [--logits-out <file>] [--reference-intake]

  --history      JSON array of earlier rounds [{"question": "...", "answer": "..."}], oldest first
  --temperature  0 = greedy; unset options take the API's defaults (temperature 0.2, top-p 0.8, top-k 50,
                 512 new tokens; docs/yi-vl.md)
  --json         print one JSON object (prompt_token_ids with the image as -200, output_token_ids, text,
                 finish_reason, token counts, timings, model_input_sha256 = sha256 of the 448x448 RGB bytes)
                 instead of streaming the answer
  --logits-out   write the float32 logits at the last prompt position as raw little-endian bytes
  --reference-intake
                 prepare the image exactly as 01.AI's reference script does (no EXIF orientation, alpha dropped
                 keeping the colour under it, ICC profile ignored), for parity checks against it
The image goes through the API's preprocessing: EXIF orientation, transparency flattened onto (122,116,104),
ICC profile converted to sRGB, padding to a square with (122,116,104), bicubic resize to 448x448 (PIL-exact).`;

class UsageError extends Error {}

function num(name: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new UsageError(`--${name}: not a${integer ? 'n integer' : ' number'}: ${v}`);
  return n;
}

function parseHistory(v: string | undefined): Turn[] | undefined {
  if (v === undefined) return undefined;
  let h: unknown;
  try {
    h = JSON.parse(v);
  } catch (err) {
    throw new UsageError(`--history: invalid JSON: ${(err as Error).message}`);
  }
  const ok =
    Array.isArray(h) &&
    h.every(
      (t) => typeof t === 'object' && t !== null && typeof t.question === 'string' && typeof t.answer === 'string',
    );
  if (!ok) throw new UsageError('--history: expected [{"question": string, "answer": string}, ...]');
  return h as Turn[];
}

async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: 'string' },
      image: { type: 'string' },
      prompt: { type: 'string' },
      history: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-p': { type: 'string' },
      'top-k': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      seed: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean', default: false },
      'logits-out': { type: 'string' },
      'reference-intake': { type: 'boolean', default: false },
    },
  });
  if (!values.model || !values.image || values.prompt === undefined) {
    throw new UsageError('--model, --image and --prompt are required');
  }
  const device = (values.device ?? 'auto') as DeviceRequest;
  if (!DEVICE_REQUESTS.includes(device)) throw new UsageError(`--device: ${DEVICE_REQUESTS.join(', ')}, not ${device}`);
  const params: Partial<GenerationParams> = {};
  const set = <K extends keyof GenerationParams>(k: K, v: GenerationParams[K] | undefined) => {
    if (v !== undefined) params[k] = v;
  };
  set('maxNewTokens', num('max-new-tokens', values['max-new-tokens'], true));
  set('temperature', num('temperature', values.temperature));
  set('topP', num('top-p', values['top-p']));
  set('topK', num('top-k', values['top-k'], true));
  set('repetitionPenalty', num('repetition-penalty', values['repetition-penalty']));
  set('seed', num('seed', values.seed, true));
  const history = parseHistory(values.history);

  // The API's own intake (shared/image), or the reference script's; both pad and resize with the PIL-exact port.
  const prepared = await preprocessForYiVl(readFileSync(values.image), DEFAULT_IMAGE_LIMITS, {
    exact: true,
    intake: values['reference-intake'] ? 'reference' : 'product',
  });
  const rgb = await decode448(prepared.png);
  const engine = await YiVlEngine.load(values.model, { device });
  const s = engine.startup;
  for (const w of s.warnings) process.stderr.write(`warning: ${w}\n`);
  if (!values.json) process.stderr.write(`[${s.provider}, ${s.dtype}, loaded in ${Math.round(s.loadMs)} ms]\n`);
  try {
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    const result = await engine.analyze(
      {
        rgb,
        question: values.prompt,
        ...(history ? { history } : {}),
        params,
        returnPrefillLogits: values['logits-out'] !== undefined,
      },
      { signal: ac.signal, ...(values.json ? {} : { onText: (d: string) => process.stdout.write(d) }) },
    );
    if (values['logits-out'] && result.prefill_logits) {
      const l = result.prefill_logits;
      const bytes = Buffer.alloc(l.length * 4);
      for (let i = 0; i < l.length; i++) bytes.writeFloatLE(l[i]!, i * 4);
      writeFileSync(values['logits-out'], bytes);
    }
    const { prefill_logits: _omit, ...out } = result;
    if (values.json) {
      const modelInputSha256 = createHash('sha256').update(rgb).digest('hex');
      const extra = { model_input_sha256: modelInputSha256, provider: s.provider, dtype: s.dtype, load_ms: s.loadMs };
      process.stdout.write(`${JSON.stringify({ ...out, ...extra })}\n`);
    } else {
      const t = result.timings;
      process.stdout.write('\n');
      process.stderr.write(
        `[${result.finish_reason}; ${result.prompt_tokens} prompt + ${result.image_tokens} image + ${result.completion_tokens} completion tokens; ` +
          `prefill ${Math.round(t.prefill_ms)} ms, ${t.tokens_per_second.toFixed(1)} tok/s]\n`,
      );
    }
  } finally {
    await engine.close();
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'generate') return generateCommand(rest);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  throw new UsageError(`unknown command ${command}`);
}

main().catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`yi-vl: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`yi-vl: ${(err as Error).name}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
});
