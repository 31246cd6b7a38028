// Image features for a batch of requests: the image-feature cache first, then the vision tower (with the
// projector) on the remaining distinct images, up to `batch` images per call.
import ort from '../../onnx/runtime.ts';
import { IMAGE_SIZE, normalizeRgbToNchw } from '../preprocess/clip-normalize.ts';
import { ImageFeatureCache } from './image-feature-cache.ts';

export interface EncodedImage {
  /** [imageTokens · hidden] projected features */
  features: Float32Array;
  cacheHit: boolean;
  /** time of the vision call that encoded it (shared by the images of one call); 0 for a cache hit */
  preprocessMs: number;
  visionMs: number;
}

export class VisionEncoder {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly cache: ImageFeatureCache,
    /** most images per vision-tower call */
    readonly batch: number,
    private readonly imageTokens: number,
    private readonly hiddenSize: number,
  ) {}

  /** Features of each 448×448 RGB image, in order; an image given twice is encoded once. */
  async encode(images: readonly Uint8Array[]): Promise<EncodedImage[]> {
    const rowValues = this.imageTokens * this.hiddenSize;
    const encoded: EncodedImage[] = [];
    const misses = new Map<string, number[]>();
    images.forEach((rgb, i) => {
      const key = ImageFeatureCache.key(rgb);
      const hit = this.cache.get(key);
      if (hit) encoded[i] = { features: hit, cacheHit: true, preprocessMs: 0, visionMs: 0 };
      else misses.set(key, [...(misses.get(key) ?? []), i]);
    });
    const keys = [...misses.keys()];
    const size = IMAGE_SIZE * IMAGE_SIZE * 3;
    for (let k = 0; k < keys.length; k += this.batch) {
      const chunk = keys.slice(k, k + this.batch);
      let t = performance.now();
      const pixels = new Float32Array(chunk.length * size);
      chunk.forEach((key, i) => {
        pixels.set(normalizeRgbToNchw(images[misses.get(key)![0]!]!), i * size);
      });
      const preprocessMs = performance.now() - t;
      t = performance.now();
      const out = await this.session.run({
        pixel_values: new ort.Tensor('float32', pixels, [chunk.length, 3, IMAGE_SIZE, IMAGE_SIZE]),
      });
      const visionMs = performance.now() - t;
      const all = out.image_features!.data as Float32Array;
      if (all.length !== chunk.length * rowValues) {
        throw new Error(`vision output has ${all.length} values, expected ${chunk.length * rowValues}`);
      }
      chunk.forEach((key, i) => {
        const features = all.slice(i * rowValues, (i + 1) * rowValues);
        this.cache.set(key, features);
        for (const at of misses.get(key)!) encoded[at] = { features, cacheHit: false, preprocessMs, visionMs };
      });
    }
    return encoded;
  }
}
