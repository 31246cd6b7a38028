// wrangler bundles `.wasm` imports as compiled WebAssembly modules (the default CompiledWasm rule).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
