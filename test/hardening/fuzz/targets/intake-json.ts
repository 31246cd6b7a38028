/**
 * JSON bodies for `POST /v1/jobs` (the `image_url` form and `parent` follow-ups) through the real edge: arbitrary
 * values and wrong types in every field, unknown and prototype-pollution keys, deep nesting, giant strings and numbers,
 * invalid UTF-8, truncation, non-object bodies. Each input is judged by an oracle written from docs/api.md; the edge
 * must agree (accept ⇔ valid), never answer 5xx, and leave nothing behind when it refuses.
 */
import fc from 'fast-check';
import { dataUrl } from '../../../edge/support/fixtures.ts';
import { jsonCaseArb } from '../arbitraries/json-body.ts';
import {
  expectOutcome,
  FIELDS_ALLOWANCE,
  type IntakeStack,
  MAX_UPLOAD_BYTES,
  startIntakeStack,
} from '../intake-stack.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

/** The JSON body cap: a base64 data: URL of the largest image plus the fields allowance. */
const JSON_CAP = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + FIELDS_ALLOWANCE;

export const intakeJsonTarget: FuzzTarget = {
  name: 'intake-json',
  ciRuns: 60,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const stack = await ctx.shared<IntakeStack>('intake', startIntakeStack);
    const fixtures = {
      parentOk: stack.parentOk,
      parentQueued: stack.parentQueued,
      parentOtherTenant: stack.parentOtherTenant,
      goodDataUrl: dataUrl(stack.image),
      imageServer: stack.imageServer,
    };
    const property = fc.asyncProperty(
      jsonCaseArb(fixtures),
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/problem+json',
        'APPLICATION/JSON',
      ),
      tally.track(async (c, contentType) => {
        tally.tried++;
        const tooLarge = c.body.byteLength > JSON_CAP;
        await expectOutcome(
          stack,
          tally,
          tooLarge
            ? { verdict: 'reject', codes: ['payload_too_large'], why: `${c.body.byteLength} bytes` }
            : { verdict: c.verdict, ...(c.codes ? { codes: c.codes } : {}), why: c.why },
          () =>
            stack.h.call('/v1/jobs', {
              method: 'POST',
              headers: { 'content-type': contentType },
              body: c.body as Uint8Array<ArrayBuffer>,
            }),
        );
      }),
    );
    return check(property, params);
  },
};
