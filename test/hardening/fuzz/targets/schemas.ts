/**
 * The shared contract's zod schemas (`shared/schemas/*`): `safeParse` never throws whatever it is given; valid values
 * (from independent arbitraries) parse to themselves and survive a JSON round trip; `decodeJobMessage` accepts
 * exactly the valid pointer messages and refuses the rest with a parse or schema error; the public job view and the
 * webhook payload never carry internal fields (tenant, API key id, storage key).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { jobView } from '../../../../edge/jobs/job-view.ts';
import { JobViewSchema, PublicJobInputSchema } from '../../../../edge/openapi/api-schemas.ts';
import * as eventSchemas from '../../../../shared/schemas/events.ts';
import * as paramSchemas from '../../../../shared/schemas/generation-params.ts';
import * as jobSchemas from '../../../../shared/schemas/job.ts';
import { type JobRecord, toPublicJob } from '../../../../shared/schemas/job.ts';
import * as createSchemas from '../../../../shared/schemas/job-create.ts';
import * as queueSchemas from '../../../../shared/schemas/queue-message.ts';
import { decodeJobMessage, encodeJobMessage } from '../../../../shared/schemas/queue-message.ts';
import * as usageSchemas from '../../../../shared/schemas/usage.ts';
import { webhookDeliveryFor } from '../../../../shared/webhooks/delivery.ts';
import {
  idempotencyRecordArb,
  jobEventArb,
  jobIdArb,
  jobMessageArb,
  jobRecordArb,
  tenantArb,
  usageRecordArb,
  WEBHOOK_EVENTS,
  webhookMessageArb,
  webhookPayloadArb,
} from '../arbitraries/records.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

/** Every zod schema the shared contract exports, by name. */
const ALL_SCHEMAS: [string, z.ZodType][] = [
  eventSchemas,
  paramSchemas,
  createSchemas,
  jobSchemas,
  queueSchemas,
  usageSchemas,
].flatMap((m) => Object.entries(m).filter((e): e is [string, z.ZodType] => e[1] instanceof z.ZodType));

const ROUND_TRIP: [string, z.ZodType, fc.Arbitrary<unknown>][] = [
  ['JobRecord', jobSchemas.JobRecordSchema, jobRecordArb],
  ['JobMessage', queueSchemas.JobMessageSchema, jobMessageArb],
  ['WebhookDeliveryMessage', queueSchemas.WebhookDeliveryMessageSchema, webhookMessageArb],
  ['WebhookPayload', eventSchemas.WebhookPayloadSchema, webhookPayloadArb],
  ['JobEvent', eventSchemas.JobEventSchema, jobEventArb],
  ['UsageRecord', usageSchemas.UsageRecordSchema, usageRecordArb],
  ['IdempotencyRecord', usageSchemas.IdempotencyRecordSchema, idempotencyRecordArb],
];

/** The documented pointer message, judged without the schema: `{v: 1, job_id, tenant}`. */
function isValidJobMessage(v: unknown): v is { v: 1; job_id: string; tenant: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const m = v as Record<string, unknown>;
  return (
    m.v === 1 &&
    typeof m.job_id === 'string' &&
    /^job_[0-9a-hjkmnp-tv-z]{26}$/.test(m.job_id) &&
    typeof m.tenant === 'string' &&
    /^[a-z0-9][a-z0-9_-]{0,62}$/.test(m.tenant)
  );
}

const nearValidMessage = fc.tuple(jobMessageArb, fc.string(), fc.anything()).map(([m, key, value]) => ({
  ...m,
  [key]: value,
}));

const PUBLIC_JOB_KEYS = new Set(Object.keys(JobViewSchema.shape));
const PUBLIC_INPUT_KEYS = new Set(Object.keys(PublicJobInputSchema.shape));

function assertNoInternals(job: JobRecord, view: Record<string, unknown>, what: string): void {
  for (const k of ['tenant', 'api_key_id']) assert.ok(!(k in view), `${what} has ${k}`);
  const input = view.input as Record<string, unknown>;
  assert.ok(!('key' in input), `${what} has input.key`);
  const text = JSON.stringify(view);
  assert.ok(!text.includes(job.api_key_id), `${what} contains the API key id`);
  assert.ok(!text.includes(job.input!.key), `${what} contains the storage key`);
  assert.ok(!text.includes('"tenant"'), `${what} names a tenant`);
  assert.ok(!('run_message_id' in view) && !text.includes('sqs_message_'), `${what} has the queue message id`);
}

const inputArb = fc.oneof(
  fc.record({ kind: fc.constant('any-into-every-schema' as const), value: fc.oneof(fc.anything(), fc.jsonValue()) }),
  fc.record({
    kind: fc.constant('round-trip' as const),
    which: fc.integer({ min: 0, max: ROUND_TRIP.length - 1 }),
    seed: fc.integer(),
  }),
  fc.record({
    kind: fc.constant('decode-message' as const),
    body: fc.oneof(
      fc.string(),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      jobMessageArb.map((m) => JSON.stringify(m)),
      nearValidMessage.map((m) => JSON.stringify(m) ?? ''),
      fc
        .record({
          v: fc.jsonValue(),
          job_id: fc.oneof(jobIdArb, fc.string()),
          tenant: fc.oneof(tenantArb, fc.string()),
        })
        .map((m) => JSON.stringify(m)),
    ),
  }),
  fc.record({ kind: fc.constant('public-view' as const), job: jobRecordArb }),
);

export const schemasTarget: FuzzTarget = {
  name: 'schemas',
  ciRuns: 200,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const property = fc.property(inputArb, (input) => {
      tally.tried++;
      tally.note(input.kind);
      switch (input.kind) {
        case 'any-into-every-schema':
          for (const [name, schema] of ALL_SCHEMAS) {
            try {
              schema.safeParse(input.value);
            } catch (e) {
              assert.fail(`${name}.safeParse threw ${String(e)}`);
            }
          }
          return;
        case 'round-trip': {
          const [name, schema, arb] = ROUND_TRIP[input.which]!;
          // As JSON data: fast-check may build null-prototype objects and -0, which JSON cannot carry.
          const value: unknown = JSON.parse(JSON.stringify(fc.sample(arb, { seed: input.seed, numRuns: 1 })[0]));
          const parsed = schema.safeParse(value);
          assert.ok(parsed.success, `${name}: a valid value was refused: ${JSON.stringify(parsed.error?.issues)}`);
          assert.deepEqual(parsed.data, value, `${name}: parse changed a valid value`);
          const again = schema.parse(JSON.parse(JSON.stringify(value)));
          assert.deepEqual(again, value, `${name}: not stable through JSON`);
          return;
        }
        case 'decode-message': {
          let parsedJson: unknown;
          let isJson = true;
          try {
            parsedJson = JSON.parse(input.body);
          } catch {
            isJson = false;
          }
          let decoded: unknown;
          let error: unknown;
          try {
            decoded = decodeJobMessage(input.body);
          } catch (e) {
            error = e;
          }
          if (isJson && isValidJobMessage(parsedJson)) {
            assert.equal(error, undefined, `a valid message was refused: ${input.body}`);
            const { v, job_id, tenant } = parsedJson;
            assert.deepEqual(decoded, { v, job_id, tenant });
            assert.deepEqual(decodeJobMessage(encodeJobMessage(job_id, tenant)), decoded);
          } else {
            assert.ok(error !== undefined, `an invalid message was accepted: ${input.body}`);
            const clear = isJson ? error instanceof z.ZodError : error instanceof SyntaxError;
            assert.ok(clear, `unclear error for ${input.body}: ${String(error)}`);
            assert.ok((error as Error).message.length > 0);
          }
          return;
        }
        case 'public-view': {
          const job = structuredClone(input.job) as JobRecord;
          const pub = toPublicJob(job) as unknown as Record<string, unknown>;
          assertNoInternals(job, pub, 'toPublicJob');
          const view = jobView(job, 'https://api.example') as unknown as Record<string, unknown>;
          assertNoInternals(job, view, 'jobView');
          for (const k of Object.keys(view)) assert.ok(PUBLIC_JOB_KEYS.has(k), `jobView has undocumented field ${k}`);
          for (const k of Object.keys(view.input as object))
            assert.ok(PUBLIC_INPUT_KEYS.has(k), `jobView.input has undocumented field ${k}`);
          assert.deepEqual(JobViewSchema.parse(view), view, 'jobView does not match its OpenAPI schema');
          for (const event of WEBHOOK_EVENTS) {
            const msg = webhookDeliveryFor(job, event);
            if (!msg) continue;
            const payload = JSON.parse(msg.payload) as { data: Record<string, unknown> };
            assertNoInternals(job, payload.data, `webhook ${event} payload`);
          }
          return;
        }
      }
    });
    return check(property, params);
  },
};
