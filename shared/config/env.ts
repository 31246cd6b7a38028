import { z } from 'zod';

/**
 * Environment parsing shared by both deployables: each declares a zod object of the variables it reads, and
 * `parseEnv` either returns typed config or throws one `ConfigError` listing every missing or bad variable.
 */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  // Empty strings count as unset, as in most deployment tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const res = schema.safeParse(cleaned);
  if (res.success) return res.data;
  const problems = res.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const value = cleaned[String(issue.path[0])];
    return value === undefined
      ? `${name} is required: ${describeOf(schema, name) ?? issue.message}`
      : `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

function describeOf(schema: z.ZodObject, name: string): string | undefined {
  const field = schema.shape[name] as z.ZodType | undefined;
  return field?.description;
}

/** Variable helpers: strings in, typed values out, with messages that name the expected form. */
export const envVar = {
  string: (description: string) => z.string().min(1).describe(description),
  url: (description: string) => z.url({ message: 'must be an absolute URL' }).describe(description),
  bool: (description: string, fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes')
      .describe(description),
  int: (description: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce
      .number({ message: 'must be a whole number' })
      .int({ message: 'must be a whole number' })
      .min(min)
      .max(max)
      .default(fallback)
      .describe(description),
  number: (description: string, fallback: number, min = 0, max = Number.MAX_VALUE) =>
    z.coerce.number({ message: 'must be a number' }).min(min).max(max).default(fallback).describe(description),
};

/** Storage and queue variables: the AWS SDK's standard names plus the project's resource names. */
export const awsEnvShape = {
  AWS_REGION: envVar.string('AWS region, e.g. us-east-1 (any value for S3/SQS-compatible local servers)'),
  AWS_ENDPOINT_URL_S3: envVar.url('S3-compatible endpoint; unset for AWS S3').optional(),
  AWS_ENDPOINT_URL_SQS: envVar.url('SQS-compatible endpoint; unset for AWS SQS').optional(),
  S3_BUCKET: envVar.string('bucket holding inputs, job records, usage and events'),
  S3_FORCE_PATH_STYLE: envVar.bool('path-style bucket addressing (needed by most local S3 servers)', false),
  S3_CONDITIONAL_WRITES: z
    .enum(['native', 'emulated'])
    .default('native')
    .describe('native: the store enforces If-None-Match/If-Match; emulated: HEAD-then-PUT for stores without them'),
  JOB_QUEUE_URL: envVar.url('SQS queue URL of the job queue'),
  AWS_ACCESS_KEY_ID: z.string().optional().describe('static credentials; unset to use the SDK credential chain'),
  AWS_SECRET_ACCESS_KEY: z.string().optional().describe('static credentials; unset to use the SDK credential chain'),
  AWS_SESSION_TOKEN: z.string().optional(),
};

/**
 * The master key every API key's webhook secret is derived from (`deriveWebhookSecret`). The edge hands the derived
 * secrets out and the worker signs with them, so both refuse the same keys: fewer than 32 characters (the local stack
 * generates 52, the CDK stack 64).
 */
export const WEBHOOK_SIGNING_KEY_MIN_LENGTH = 32;

export const webhookSigningKeyVar = z
  .string()
  .min(
    WEBHOOK_SIGNING_KEY_MIN_LENGTH,
    `must be at least ${WEBHOOK_SIGNING_KEY_MIN_LENGTH} characters (each API key’s webhook secret is derived from it)`,
  )
  .describe('master key from which each API key’s webhook secret is derived');

export const logEnvShape = {
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('log level'),
};
