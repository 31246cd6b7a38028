// XGrammar (the grammar engine of vLLM, SGLang and TensorRT-LLM), WebAssembly build. The npm package declares
// itself an ES module but ships a UMD bundle, so `import` sees no exports and `require` refuses a `.js` file inside a
// "type": "module" package. The bundle is therefore compiled once as the CommonJS module it is, from its resolved
// path; its WebAssembly is inlined and instantiated on the first API call (initXGrammar awaits that).
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import type * as XGrammarApi from '@mlc-ai/web-xgrammar';

export type XGrammar = typeof XGrammarApi;
export type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from '@mlc-ai/web-xgrammar';

interface CommonJsModule {
  exports: unknown;
  filename: string;
  paths: string[];
  _compile(source: string, filename: string): void;
}
const CommonJs = Module as unknown as {
  new (id: string, parent?: unknown): CommonJsModule;
  _nodeModulePaths(dir: string): string[];
};

let loaded: XGrammar | undefined;

/** The XGrammar API, loaded on first use (synchronous; the WebAssembly starts on the first async call). */
export function xgrammar(): XGrammar {
  if (loaded) return loaded;
  const filename = createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar');
  const mod = new CommonJs(filename);
  mod.filename = filename;
  mod.paths = CommonJs._nodeModulePaths(dirname(filename));
  mod._compile(readFileSync(filename, 'utf8'), filename);
  const api = mod.exports as XGrammar;
  if (typeof api.GrammarCompiler?.createGrammarCompiler !== 'function')
    throw new Error(`${filename} did not export XGrammar's API`);
  loaded = api;
  return api;
}

/** Loads the bundle and instantiates its WebAssembly; resolves to the API. */
export async function initXGrammar(): Promise<XGrammar> {
  const api = xgrammar();
  // Any async entry point instantiates the module; an empty-grammar compile would need a tokenizer, this needs none.
  (await api.Grammar.fromEBNF('root ::= "a"')).dispose();
  return api;
}
