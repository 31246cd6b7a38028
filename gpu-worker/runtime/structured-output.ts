// `output.json` of a structured answer: the text parsed — only when the answer finished (`stop`), parses, and
// (json_schema) validates against the job's schema with Ajv, independently of the grammar that produced it. A cut
// answer (`length`, `canceled`) never gets a value, so a half document is never passed on as something else.
import { createHash } from 'node:crypto';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { JobOutput } from '../../shared/schemas/job.ts';
import type { ResponseFormat } from '../../shared/structured/response-format.ts';

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
const MAX_VALIDATORS = 64;

function validatorFor(schema: object): ValidateFunction {
  const key = createHash('sha256').update(JSON.stringify(schema)).digest('hex');
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(schema);
    if (validators.size >= MAX_VALIDATORS) validators.delete(validators.keys().next().value!);
    validators.set(key, v);
  }
  return v;
}

/** `{ json }` to spread into the job output, or `{}` when there is no (valid, complete) document. */
export function structuredOutputOf(
  text: string,
  finishReason: JobOutput['finish_reason'],
  format: ResponseFormat | undefined,
): Pick<JobOutput, 'json'> {
  if (!format || format.type === 'text' || finishReason !== 'stop') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (format.type === 'json_object')
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? { json: value } : {};
  try {
    return validatorFor(format.json_schema.schema)(value) ? { json: value } : {};
  } catch {
    return {};
  }
}
