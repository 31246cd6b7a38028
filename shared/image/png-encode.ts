/**
 * Minimal lossless PNG writer for 8-bit RGB, runtime-neutral: zlib via the Web `CompressionStream('deflate')`
 * (Node ≥ 18 and workerd), so the Workers path needs no extra WASM for encoding.
 */
import { concatBytes } from '../bytes.ts';
import { crc32 } from './crc32.ts';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function encodePngRgb(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const stride = width * 3;
  // Filter type 2 (Up) per scanline: cheap and compresses smooth images well.
  const filtered = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    filtered[o] = 2;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const up = y > 0 ? rgb[row - stride + i]! : 0;
      filtered[o + 1 + i] = (rgb[row + i]! - up) & 0xff;
    }
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, adaptive filtering, no interlace
  return concatBytes([
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', await deflate(filtered)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
