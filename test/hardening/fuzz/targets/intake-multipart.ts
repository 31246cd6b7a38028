/**
 * Raw multipart bodies for `POST /v1/jobs` through the real edge (see arbitraries/multipart-body.ts): the edge must
 * agree with the oracle (accept ⇔ valid), never answer 5xx, and leave nothing behind when it refuses.
 */
import fc from 'fast-check';
import { multipartCaseArb } from '../arbitraries/multipart-body.ts';
import {
  expectOutcome,
  FIELDS_ALLOWANCE,
  type IntakeStack,
  MAX_UPLOAD_BYTES,
  startIntakeStack,
} from '../intake-stack.ts';
import { type CheckParams, check, type FuzzContext, type FuzzTarget } from '../runner.ts';

export const intakeMultipartTarget: FuzzTarget = {
  name: 'intake-multipart',
  ciRuns: 60,
  async run(ctx: FuzzContext, params: CheckParams) {
    const { tally } = ctx;
    const stack = await ctx.shared<IntakeStack>('intake', startIntakeStack);
    const fixtures = { image: stack.image, parentOk: stack.parentOk, parentQueued: stack.parentQueued };
    const property = fc.asyncProperty(
      multipartCaseArb(fixtures, MAX_UPLOAD_BYTES + FIELDS_ALLOWANCE),
      tally.track(async (c) => {
        tally.tried++;
        await expectOutcome(
          stack,
          tally,
          { verdict: c.verdict, ...(c.codes ? { codes: c.codes } : {}), why: c.why },
          () =>
            stack.h.call('/v1/jobs', {
              method: 'POST',
              headers: {
                'content-type': c.contentType,
                ...(c.contentLength ? { 'content-length': c.contentLength } : {}),
              },
              body: c.body as Uint8Array<ArrayBuffer>,
            }),
        );
      }),
    );
    return check(property, params);
  },
};
