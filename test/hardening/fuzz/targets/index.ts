import type { FuzzTarget } from '../runner.ts';
import { intakeHeadersTarget } from './intake-headers.ts';
import { intakeHttpFramingTarget } from './intake-http-framing.ts';
import { intakeImagesTarget } from './intake-images.ts';
import { intakeJsonTarget } from './intake-json.ts';
import { intakeMultipartTarget } from './intake-multipart.ts';
import { schemasTarget } from './schemas.ts';
import { webhookSigningTarget } from './webhook-signing.ts';

/** Every fuzz target, in the order runs and reports list them. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  intakeMultipartTarget,
  intakeJsonTarget,
  intakeImagesTarget,
  intakeHeadersTarget,
  intakeHttpFramingTarget,
  schemasTarget,
  webhookSigningTarget,
];
