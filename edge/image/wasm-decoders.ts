/**
 * First-frame RGBA decoding with WebAssembly codecs (@jsquash: mozjpeg, the Rust png crate, libwebp, libavif),
 * shared/image/gif-decode.ts for GIF, and jpeg-js (pure JS) for the CMYK/YCCK JPEGs mozjpeg cannot convert to RGB (naive
 * CMYK→RGB without ICC profiles: colours can drift by tens of levels from sharp's profile-managed conversion). None of them applies EXIF/HEIF orientation; the caller does, from the header.
 * The .wasm modules are injected: workerd imports them as compiled modules, Node compiles them from node_modules.
 */
import decodeAvif, { init as initAvif } from '@jsquash/avif/decode.js';
import decodeJpeg, { init as initJpeg } from '@jsquash/jpeg/decode.js';
import decodePng, { init as initPng } from '@jsquash/png/decode.js';
import decodeWebp, { init as initWebp } from '@jsquash/webp/decode.js';
import jpegJs from 'jpeg-js';
import type { ImageFormat } from '../../shared/image/formats.ts';
import { decodeGifFirstFrame } from '../../shared/image/gif-decode.ts';
import { jpegComponentCount } from '../../shared/image/header.ts';

export interface WasmCodecModules {
  jpeg: WebAssembly.Module;
  png: WebAssembly.Module;
  webp: WebAssembly.Module;
  avif: WebAssembly.Module;
}

export interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

let initialised: Promise<unknown> | undefined;

export function initWasmCodecs(modules: WasmCodecModules): Promise<unknown> {
  initialised ??= Promise.all([
    initJpeg(modules.jpeg),
    initPng(modules.png),
    initWebp(modules.webp),
    initAvif(modules.avif),
  ]);
  return initialised;
}

let pngInitialised: Promise<unknown> | undefined;

/** Only the PNG codec (the Images-binding path decodes the binding's PNG output). */
export function initPngCodec(module: WebAssembly.Module): Promise<unknown> {
  pngInitialised ??= initPng(module);
  return pngInitialised;
}

export async function decodePngRgba(bytes: Uint8Array): Promise<Rgba> {
  return fromImageData(await decodePng(asArrayBuffer(bytes)));
}

function asArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function fromImageData(image: { data: Uint8ClampedArray | Uint8Array; width: number; height: number } | null): Rgba {
  if (!image) throw new Error('decoder returned no image');
  return {
    data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
    width: image.width,
    height: image.height,
  };
}

function decodeCmykJpeg(bytes: Uint8Array): Rgba {
  // The pixel cap was checked from the header already; these are jpeg-js's own guards.
  const { data, width, height } = jpegJs.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    maxResolutionInMP: 100,
    maxMemoryUsageInMB: 512,
  });
  return { data, width, height };
}

export async function decodeRgba(format: ImageFormat, bytes: Uint8Array): Promise<Rgba> {
  switch (format) {
    case 'jpeg':
      if (jpegComponentCount(bytes) === 4) return decodeCmykJpeg(bytes);
      return fromImageData(await decodeJpeg(asArrayBuffer(bytes), { preserveOrientation: false }));
    case 'png':
      return fromImageData(await decodePng(asArrayBuffer(bytes)));
    case 'webp':
      return fromImageData(await decodeWebp(asArrayBuffer(bytes)));
    case 'avif':
      return fromImageData(await decodeAvif(asArrayBuffer(bytes)));
    case 'gif':
      return decodeGifFirstFrame(bytes);
  }
}
