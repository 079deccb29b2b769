
// Appended to wasm-bindgen's glue by `./x wasm` (crates/vexil-wasm/reinstantiate.js). The glue
// instantiates the module once per realm; after a trap that instance is unusable (its Rust
// state is half-updated, its borrow flags stuck), so the SDK asks for a new instance of the
// same compiled module here, with fresh memory, and reloads its snapshots into it.
export function reinstantiate() {
  if (wasmModule === undefined) throw new Error('the engine was never initialized');
  wasm = undefined;
  return initSync({ module: wasmModule });
}
