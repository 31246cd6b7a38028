/**
 * Image bytes mutated from valid PNG, JPEG, WebP, GIF and AVIF files, uploaded through the real edge (multipart file
 * part or JSON data: URL). Unmutated seeds must be accepted; header dimensions set huge must give 422
 * image_too_large; anything else either is accepted as a complete job (its model input a 448×448 PNG, its recorded
 * sha256 and size those of the bytes sent) or is refused as an image problem, leaving nothing behind.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256Hex } from '../../../../shared/crypto/sha256.ts';
import { dataUrl, multipart } from '../../../edge/support/fixtures.ts';
import { byteMutationArb, hugeDimensions, mutateImage, seedImages } from '../arbitraries/images.ts';
import {
  type Expectation,
  expectOutcome,
  type IntakeStack,
  MAX_UPLOAD_BYTES,
  startIntakeStack,
} from '../intake-stack.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

const IMAGE_CODES = ['image_corrupt', 'image_too_large', 'unsupported_media_type', 'payload_too_large'] as const;

export const intakeImagesTarget: FuzzTarget = {
  name: 'intake-image-bytes',
  ciRuns: 50,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const stack = await ctx.shared<IntakeStack>('intake', startIntakeStack);
    const seeds = await seedImages(MAX_UPLOAD_BYTES - 1024);
    const property = fc.asyncProperty(
      fc.record({
        seed: fc.integer({ min: 0, max: seeds.length - 1 }),
        change: fc.oneof(
          { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
          { weight: 2, arbitrary: fc.constant({ kind: 'huge' as const }) },
          {
            weight: 8,
            arbitrary: fc.record({
              kind: fc.constant('mutate' as const),
              ops: fc.array(byteMutationArb, { minLength: 1, maxLength: 4 }),
            }),
          },
        ),
        transport: fc.constantFrom('multipart', 'data-url'),
        declaredType: fc.constantFrom(
          'image/jpeg',
          'image/png',
          'text/plain',
          'application/octet-stream',
          'image/svg+xml',
        ),
      }),
      tally.track(async ({ seed, change, transport, declaredType }) => {
        tally.tried++;
        const s = seeds[seed]!;
        let bytes = s.bytes;
        let expectation: Expectation = { verdict: 'accept', why: `unmodified ${s.name}` };
        if (change.kind === 'huge') {
          const huge = hugeDimensions(s.format, s.bytes);
          fc.pre(huge !== null);
          bytes = huge;
          expectation = { verdict: 'reject', codes: ['image_too_large'], why: `${s.name} with huge header dimensions` };
        } else if (change.kind === 'mutate') {
          bytes = mutateImage(s.format, s.bytes, change.ops);
          expectation = { verdict: 'either', codes: IMAGE_CODES, why: `mutated ${s.name}` };
        }
        const upload = bytes;
        await expectOutcome(
          stack,
          tally,
          expectation,
          () =>
            stack.h.call('/v1/jobs', {
              method: 'POST',
              ...(transport === 'multipart'
                ? {
                    body: (() => {
                      const form = multipart(null, { prompt: 'What is this?' });
                      form.set(
                        'image',
                        new Blob([upload as Uint8Array<ArrayBuffer>], { type: declaredType }),
                        'upload.bin',
                      );
                      return form;
                    })(),
                  }
                : {
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify({ prompt: 'What is this?', image_url: dataUrl(upload, declaredType) }),
                  }),
            }),
          {
            onAccepted: async (job) => {
              assert.equal(job.input!.sha256, await sha256Hex(upload), 'recorded sha256');
              assert.equal(job.input!.bytes, upload.length, 'recorded size');
              assert.equal(job.input!.source, transport === 'multipart' ? 'upload' : 'data_url');
              const png = await stack.h.deps.store.get(job.input!.key);
              assert.ok(png, 'model input');
              const view = new DataView(png.body.buffer, png.body.byteOffset, png.body.byteLength);
              assert.equal(String.fromCharCode(...png.body.subarray(1, 4)), 'PNG', 'model input is a PNG');
              assert.deepEqual([view.getUint32(16), view.getUint32(20)], [448, 448], 'model input is 448×448');
            },
          },
        );
      }),
    );
    return check(property, params);
  },
};
