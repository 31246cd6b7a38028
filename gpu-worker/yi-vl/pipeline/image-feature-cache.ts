// Small LRU of projected image features keyed by the pixels' sha256: a follow-up question about the same image
// skips the vision tower (the most expensive part of a short answer).
import { createHash } from 'node:crypto';

export class ImageFeatureCache {
  private readonly entries = new Map<string, Float32Array>();
  constructor(readonly capacity: number) {}

  static key(rgb: Uint8Array): string {
    return createHash('sha256').update(rgb).digest('hex');
  }

  get(key: string): Float32Array | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, features: Float32Array): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, features);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
