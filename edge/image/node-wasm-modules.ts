/** Compiles the WASM codecs from node_modules, for running the Workers image path under Node (tests, bench). */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { WasmCodecModules } from './wasm-decoders.ts';

const WASM_PATHS: Record<keyof WasmCodecModules, string> = {
  jpeg: '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm',
  png: '@jsquash/png/codec/pkg/squoosh_png_bg.wasm',
  webp: '@jsquash/webp/codec/dec/webp_dec.wasm',
  avif: '@jsquash/avif/codec/dec/avif_dec.wasm',
};

export async function loadWasmCodecModulesFromNodeModules(): Promise<WasmCodecModules> {
  const require = createRequire(import.meta.url);
  const entries = await Promise.all(
    Object.entries(WASM_PATHS).map(async ([name, path]) => {
      const bytes = await readFile(require.resolve(path));
      return [name, await WebAssembly.compile(bytes)] as const;
    }),
  );
  return Object.fromEntries(entries) as unknown as WasmCodecModules;
}
