/*!
Vexil's evaluation engine for JavaScript: browsers, workers and Node evaluate flags locally from
a compiled snapshot, with the same answers as `vexil serve`.

A thin adapter over `vexil-eval`, used through the SDK (`www/src/wasm-engine.js`), which owns
the JavaScript side: it turns a compiled snapshot into an index (`read_compiled`: no JSON and no
parsing), describes it once so JS holds every string a result can contain, and evaluates with
integers and bytes in wasm memory. All flag logic stays in `vexil-eval`; the engine carries no
JSON parser, no decompressor and no cryptography: the SDK inflates compressed bytes and verifies
signatures with the runtime's own `DecompressionStream` and WebCrypto before loading.

Errors: a bad snapshot is a thrown JS `Error`; an evaluation that cannot answer returns a
negative code, named by [`engine::error_codes`]. Nothing on these paths panics; the wasm profile
aborts on panic, so a panic would be a bug, not an error path.

Modules: `engine` (the exported class and the loaded state), `describe` (the loaded snapshot as JS arrays), `scratch` (the regions JS writes
inputs into, read as the engine's context).
*/

#![deny(missing_docs)]

mod describe;
pub mod engine;
mod scratch;

pub use engine::Engine;

// Single-threaded WebAssembly (no `atomics`): talc's dynamic heap grows wasm memory as needed.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
