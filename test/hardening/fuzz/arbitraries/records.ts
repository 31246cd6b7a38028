/**
 * Arbitraries for valid values of the shared contract (job record, queue messages, events, usage), written from the
 * documented shapes rather than derived from the zod schemas, so that the schemas are checked against them.
 * Every value is canonical: what the schema's parse returns for it is the value itself.
 */
import fc from 'fast-check';

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
export const jobIdArb = fc
  .string({ unit: fc.constantFrom(...CROCKFORD), minLength: 26, maxLength: 26 })
  .map((s) => `job_${s}`);
export const tenantArb = fc
  .tuple(
    fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'), maxLength: 62 }),
  )
  .map(([a, b]) => a + b);
/** Distinctive, so a leak of it anywhere in a serialised public view is easy to spot. */
export const apiKeyIdArb = fc
  .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 12, maxLength: 20 })
  .map((s) => `key_internal_${s}`);
export const isoArb = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const sha256Arb = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
const textArb = fc.string({ unit: 'binary', maxLength: 80 });
const nonNegInt = fc.nat({ max: 2 ** 31 });
const nonNegDouble = fc.double({ min: 0, max: 1e12, noNaN: true });
const posInt = fc.integer({ min: 1, max: 100_000 });

export const promptArb = fc.oneof(
  fc
    .string({ unit: 'binary', minLength: 1, maxLength: 200 })
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
  fc.string({ unit: 'grapheme-ascii', minLength: 3990, maxLength: 4000 }).map((s) => `x${s.trim()}`.slice(0, 4000)),
);

export const paramsArb = fc.record(
  {
    max_new_tokens: fc.integer({ min: 1, max: 2048 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }).filter((x) => x > 0),
    top_k: fc.integer({ min: 0, max: 1000 }),
    repetition_penalty: fc.double({ min: 0.5, max: 2, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  },
  { requiredKeys: ['max_new_tokens', 'temperature', 'top_p', 'top_k', 'repetition_penalty'] },
);

/**
 * Keys of zod `z.record` values. `__proto__` is left out: zod builds records by assignment, so that key is silently
 * dropped (a string value) or replaces the result's prototype (an object value) instead of round-tripping.
 */
const recordKey = (maxLength: number) => fc.string({ maxLength }).filter((k) => k !== '__proto__');

export const metadataArb = fc
  .dictionary(recordKey(64), fc.string({ maxLength: 1024 }), { maxKeys: 8, noNullPrototype: true })
  .filter((m) => new TextEncoder().encode(JSON.stringify(m)).byteLength <= 4096);

export const WEBHOOK_EVENTS = ['job.started', 'job.succeeded', 'job.failed', 'job.canceled'] as const;
const webhookUrlArb = fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true });

const attemptArb = fc.record(
  {
    webhook_id: fc.string({ minLength: 1, maxLength: 60 }),
    event: fc.constantFrom(...WEBHOOK_EVENTS),
    attempt: posInt,
    at: isoArb,
    status_code: fc.integer({ min: 100, max: 599 }),
    latency_ms: nonNegDouble,
    outcome: fc.constantFrom('delivered', 'retrying', 'gave_up', 'refused', 'stopped'),
    error: textArb,
  },
  { requiredKeys: ['webhook_id', 'event', 'attempt', 'at', 'latency_ms', 'outcome'] },
);

export const jobRecordArb = fc
  .record({ id: jobIdArb, tenant: tenantArb, root: fc.option(jobIdArb, { nil: undefined }) })
  .chain(({ id, tenant, root }) =>
    fc.record(
      {
        object: fc.constant('job' as const),
        id: fc.constant(id),
        tenant: fc.constant(tenant),
        api_key_id: apiKeyIdArb,
        status: fc.constantFrom('queued', 'running', 'succeeded', 'failed', 'canceled'),
        created_at: isoArb,
        updated_at: isoArb,
        started_at: isoArb,
        completed_at: isoArb,
        expires_at: isoArb,
        cancel_requested_at: isoArb,
        prompt: promptArb,
        params: paramsArb,
        input: fc.record({
          source: fc.constantFrom('upload', 'url', 'data_url', 'parent'),
          key: fc.constant(`inputs/${tenant}/${root ?? id}/model-input.png`),
          format: fc.constantFrom('jpeg', 'png', 'webp', 'gif', 'avif'),
          width: posInt,
          height: posInt,
          bytes: nonNegInt,
          sha256: sha256Arb,
          model_width: fc.constant(448),
          model_height: fc.constant(448),
        }),
        conversation: fc.record(
          {
            root_id: fc.constant(root ?? id),
            parent_id: jobIdArb,
            history: fc.array(fc.record({ question: textArb, answer: textArb }), { maxLength: 3 }),
          },
          { requiredKeys: ['root_id', 'history'] },
        ),
        output: fc.record({
          text: textArb,
          finish_reason: fc.constantFrom('stop', 'length', 'canceled'),
          prompt_tokens: nonNegInt,
          completion_tokens: nonNegInt,
        }),
        error: fc.record(
          { code: textArb, message: textArb, retryable: fc.boolean() },
          { requiredKeys: ['code', 'message'] },
        ),
        usage: fc.record({
          prompt_tokens: nonNegInt,
          image_tokens: nonNegInt,
          completion_tokens: nonNegInt,
          total_tokens: nonNegInt,
          images: nonNegInt,
          gpu_ms: nonNegDouble,
          queue_ms: nonNegDouble,
        }),
        webhook: fc.record({
          url: webhookUrlArb,
          events: fc.subarray([...WEBHOOK_EVENTS], { minLength: 1 }),
        }),
        webhook_attempts: fc.array(attemptArb, { maxLength: 3 }),
        attempts: fc.nat({ max: 50 }),
        run_message_id: fc.uuid().map((u) => `sqs_message_${u}`),
        metadata: metadataArb,
        idempotency_key: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 255 }),
      },
      {
        requiredKeys: [
          'object',
          'id',
          'tenant',
          'api_key_id',
          'status',
          'created_at',
          'updated_at',
          'expires_at',
          'prompt',
          'params',
          'input',
          'conversation',
          'webhook_attempts',
          'attempts',
        ],
      },
    ),
  );

export const jobMessageArb = fc.record({ v: fc.constant(1 as const), job_id: jobIdArb, tenant: tenantArb });

export const webhookMessageArb = fc.record({
  v: fc.constant(1 as const),
  webhook_id: fc.string({ minLength: 1, maxLength: 80 }),
  tenant: tenantArb,
  job_id: jobIdArb,
  api_key_id: apiKeyIdArb,
  event: fc.constantFrom(...WEBHOOK_EVENTS),
  url: webhookUrlArb,
  payload: fc.json(),
  attempt: posInt,
  first_attempt_at: isoArb,
});

export const jobEventArb = fc.record(
  {
    id: fc.string({ maxLength: 40 }),
    type: fc.constantFrom('job.queued', 'job.started', 'job.succeeded', 'job.failed', 'job.canceled'),
    job_id: jobIdArb,
    status: fc.constantFrom('queued', 'running', 'succeeded', 'failed', 'canceled'),
    created_at: isoArb,
    attempt: fc.nat({ max: 100 }),
  },
  { requiredKeys: ['id', 'type', 'job_id', 'status', 'created_at'] },
);

export const usageRecordArb = fc.record({
  job_id: jobIdArb,
  tenant: tenantArb,
  api_key_id: apiKeyIdArb,
  status: fc.constantFrom('queued', 'running', 'succeeded', 'failed', 'canceled'),
  completed_at: isoArb,
  prompt_tokens: nonNegInt,
  image_tokens: nonNegInt,
  completion_tokens: nonNegInt,
  images: nonNegInt,
  gpu_ms: nonNegDouble,
  queue_ms: nonNegDouble,
});

export const idempotencyRecordArb = fc.record({
  key_hash: sha256Arb,
  request_fingerprint: sha256Arb,
  job_id: jobIdArb,
  state: fc.constantFrom('pending', 'complete'),
  created_at: isoArb,
  expires_at: isoArb,
});

export const webhookPayloadArb = fc.record({
  type: fc.constantFrom(...WEBHOOK_EVENTS),
  timestamp: isoArb,
  data: fc.dictionary(recordKey(40), fc.jsonValue(), { noNullPrototype: true }),
});
