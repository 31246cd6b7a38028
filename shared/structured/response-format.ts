// `response_format` of a job: free text (default), any JSON object, or a document of a JSON Schema — the OpenAI
// request shape. The schema is checked against the supported subset when the job is created; the worker then
// constrains decoding with a grammar so that the answer always parses and validates.
import { z } from 'zod';
import { analyzeJsonSchema, SCHEMA_LIMITS, type SchemaLimits } from './json-schema-subset.ts';

export const RESPONSE_FORMAT_TYPES = ['text', 'json_object', 'json_schema'] as const;

export const JsonSchemaFormatSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64')
      .describe('a name for the schema (letters, digits, _ and -)'),
    description: z.string().max(1000).optional(),
    schema: z
      .record(z.string(), z.unknown())
      .describe('a JSON Schema of the supported subset (docs/api.md, "Structured answers")'),
    strict: z.boolean().optional().describe('accepted for compatibility: answers always follow the schema'),
  })
  .meta({ id: 'JsonSchemaFormat' });

export const ResponseFormatSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({ type: z.literal('json_schema'), json_schema: JsonSchemaFormatSchema }),
  ])
  .meta({
    id: 'ResponseFormat',
    description:
      '`text` (default): free text. `json_object`: the answer is one JSON object. `json_schema`: the answer is a ' +
      'JSON document valid against `json_schema.schema`; `output.json` carries it parsed.',
  });
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

/** Where schema problems are reported in a 422's `errors[].path`: this prefix, then the JSON Pointer. */
export const SCHEMA_ERROR_PATH = 'response_format.json_schema.schema';

/** The 422 `errors[].path` for a problem at `pointer` inside the schema, e.g. "…schema/properties/age/minimum". */
export function schemaErrorPath(pointer: string): string {
  return `${SCHEMA_ERROR_PATH}${pointer}`;
}

export function isStructured(format: ResponseFormat | undefined): boolean {
  return format !== undefined && format.type !== 'text';
}

/** Tokens a bounded schema's answer can take: optional leading space + its bytes (a token is ≥ 1 byte) + stop. */
export function schemaTokenBound(schema: unknown, limits: SchemaLimits = SCHEMA_LIMITS): number | null {
  const analysis = analyzeJsonSchema(schema, limits);
  if (!analysis.ok || !Number.isFinite(analysis.maxBytes)) return null;
  return 1 + analysis.maxBytes + 1;
}

/**
 * `max_new_tokens` for a job whose caller left it out: a bounded schema's token bound (capped at `limit`), else
 * the default.
 */
export function defaultMaxNewTokens(format: ResponseFormat | undefined, fallback: number, limit: number): number {
  if (format?.type !== 'json_schema') return fallback;
  const bound = schemaTokenBound(format.json_schema.schema);
  return bound === null ? fallback : Math.min(bound, limit);
}

/** ResponseFormatSchema plus the subset check, for requests: each problem becomes an issue at its pointer. */
export const ResponseFormatRequestSchema = ResponseFormatSchema.superRefine((format, ctx) => {
  if (format.type !== 'json_schema') return;
  const analysis = analyzeJsonSchema(format.json_schema.schema);
  if (analysis.ok) return;
  for (const p of analysis.problems)
    ctx.addIssue({
      code: 'custom',
      // One path segment holding the pointer, so the joined path reads "response_format.json_schema.schema/…".
      path: ['json_schema', `schema${p.pointer}`],
      message: p.message,
    });
});
