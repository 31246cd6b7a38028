import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobViewSchema } from '../../edge/openapi/api-schemas.ts';
import { schemaTokenBound } from '../../shared/structured/response-format.ts';
import { type EdgeHarness, startEdgeHarness } from './support/edge-harness.ts';
import { dataUrl, jpeg, multipart } from './support/fixtures.ts';

const SCHEMA = {
  type: 'object',
  properties: {
    animal: { enum: ['cat', 'dog', 'other'] },
    count: { type: 'integer', minimum: 0, maximum: 20 },
    colour: { type: 'string', maxLength: 20 },
  },
  required: ['animal', 'count'],
  additionalProperties: false,
};
const format = (schema: unknown) => ({ type: 'json_schema', json_schema: { name: 'pets', schema, strict: true } });

type Problem = { status: number; code: string; errors?: { path: string; message: string }[] };

describe('response_format on POST /v1/jobs (real S3/SQS)', () => {
  let h: EdgeHarness;
  let image: Uint8Array;

  before(async () => {
    h = await startEdgeHarness();
    image = await jpeg(40, 30);
  });
  after(() => h.close());

  const createJson = (body: Record<string, unknown>) =>
    h.call('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'How many animals?', image_url: dataUrl(image), ...body }),
    });

  /** Objects stored and messages queued so far (a rejected create must add neither). */
  async function footprint(): Promise<{ objects: number; messages: number }> {
    const objects = (await h.aws.store.list('')).items.length;
    const depth = await h.aws.jobQueue.depth();
    return { objects, messages: depth.visible + depth.inFlight + depth.delayed };
  }

  test('JSON body: the schema is stored in params, max_new_tokens defaults to the schema’s token bound', async () => {
    const res = await createJson({ response_format: format(SCHEMA) });
    assert.equal(res.status, 202);
    const view = JobViewSchema.parse(await res.json());
    assert.deepEqual(view.params.response_format, format(SCHEMA));
    assert.equal(view.params.max_new_tokens, schemaTokenBound(SCHEMA));
  });

  test('multipart: response_format is a JSON-encoded text field; an explicit max_new_tokens wins', async () => {
    const res = await h.call('/v1/jobs', {
      method: 'POST',
      body: multipart(image, {
        prompt: 'Describe.',
        response_format: JSON.stringify({ type: 'json_object' }),
        max_new_tokens: '100',
      }),
    });
    assert.equal(res.status, 202);
    const view = JobViewSchema.parse(await res.json());
    assert.deepEqual(view.params.response_format, { type: 'json_object' });
    assert.equal(view.params.max_new_tokens, 100);
    const bad = await h.call('/v1/jobs', {
      method: 'POST',
      body: multipart(image, { prompt: 'Describe.', response_format: '{not json' }),
    });
    assert.equal(bad.status, 422);
    assert.equal(((await bad.json()) as Problem).errors?.[0]?.path, 'response_format');
  });

  test('{"type":"text"} is the default: nothing is stored for it', async () => {
    const res = await createJson({ response_format: { type: 'text' } });
    assert.equal(res.status, 202);
    const view = JobViewSchema.parse(await res.json());
    assert.equal(view.params.response_format, undefined);
    assert.equal(view.params.max_new_tokens, 512);
  });

  test('unsupported, unsatisfiable or too-large schemas: 422 with the pointer of each problem; nothing stored or queued', async () => {
    const cases: [unknown, string[]][] = [
      [
        { ...SCHEMA, properties: { ...SCHEMA.properties, seen: { type: 'string', format: 'date-time' } } },
        ['response_format.json_schema.schema/properties/seen/format'],
      ],
      [{ type: 'string', minLength: 5, maxLength: 2 }, ['response_format.json_schema.schema/minLength']],
      [{ type: 'integer', minimum: 3, maximum: 1 }, ['response_format.json_schema.schema/maximum']],
      [{ enum: [] }, ['response_format.json_schema.schema/enum']],
      [
        { type: 'object', properties: {}, required: ['x'], additionalProperties: false },
        ['response_format.json_schema.schema/required/0'],
      ],
      [{ $ref: '#/$defs/nowhere' }, ['response_format.json_schema.schema/$ref']],
      [{ type: 'string', pattern: '(?<=a)b' }, ['response_format.json_schema.schema/pattern']],
      [{ enum: Array.from({ length: 300 }, (_, i) => i) }, ['response_format.json_schema.schema/enum']],
      [
        { type: 'object', properties: { a: { oneOf: [{ type: 'null' }] }, b: { allOf: [] } } },
        [
          'response_format.json_schema.schema/properties/a/oneOf',
          'response_format.json_schema.schema/properties/b/allOf',
        ],
      ],
    ];
    const before = await footprint();
    for (const [schema, paths] of cases) {
      const res = await createJson({ response_format: format(schema) });
      assert.equal(res.status, 422, JSON.stringify(schema));
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
      const problem = (await res.json()) as Problem;
      assert.equal(problem.code, 'validation_failed');
      assert.deepEqual(
        problem.errors?.map((e) => e.path),
        paths,
        JSON.stringify(problem.errors),
      );
    }
    const badShape = await createJson({ response_format: { type: 'json_schema' } });
    assert.equal(badShape.status, 422);
    assert.equal(((await badShape.json()) as Problem).errors?.[0]?.path, 'response_format.json_schema');
    assert.deepEqual(await footprint(), before);
  });

  test('GET /openapi.json describes response_format (JSON and multipart) and output.json', async () => {
    const doc = (await (await h.call('/openapi.json', { key: null })).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown>; oneOf?: unknown[] }> };
      paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: unknown }> } }>>;
    };
    const schemas = doc.components.schemas;
    assert.ok(schemas.JobCreateRequest?.properties?.response_format);
    assert.ok(schemas.ResponseFormat, 'ResponseFormat component');
    assert.ok(schemas.JsonSchemaFormat?.properties?.schema);
    assert.ok(schemas.JobOutput?.properties?.json);
    const multipart = JSON.stringify(doc.paths['/v1/jobs']?.post?.requestBody.content['multipart/form-data']);
    assert.match(multipart, /response_format/);
  });
});
