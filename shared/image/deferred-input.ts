/**
 * The worker's half of a deferred input (`input.prepared_by: 'worker'`): the upload as the edge stored it → the
 * 448×448 model input, with the very preprocessing the Node edge runs (sharp-preprocess.ts), so a job taken by a
 * Workers edge gives the model the pixels a Node edge would have. Node only (sharp).
 */
import { preprocessForYiVl } from './sharp-preprocess.ts';

/** Throws ProblemError (image_corrupt, image_too_large) when the upload cannot be prepared. */
export async function modelInputFromUpload(
  upload: Uint8Array,
  recorded: { width: number; height: number },
): Promise<Uint8Array> {
  // The edge already applied the deployment's limits; these only keep the decoder to the size it recorded.
  const limits = {
    maxBytes: upload.length,
    maxPixels: recorded.width * recorded.height,
    maxSide: Math.max(recorded.width, recorded.height),
  };
  return (await preprocessForYiVl(upload, limits)).png;
}
