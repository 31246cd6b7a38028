/**
 * zlib level of the 448×448 model-input PNG that the edge writes (sharp) and the worker reads. It is written once
 * and read once, so the level is chosen for CPU, not size: `npm run bench:edge` prints CPU to write and store it,
 * to fetch and decode it, and its size, per level (figures in docs/performance.md). Level 1 with no row filter
 * writes in about two thirds of level 6's CPU; the file is ~1.5× larger (about 390 KB for a photo).
 */
export const MODEL_INPUT_PNG_LEVEL = 1;
