/*!
Vexil's evaluation engine for JavaScript: browsers, workers and Node evaluate flags locally from
a snapshot, with the same answers as `vexil serve`.

A thin adapter over `vexil-eval`: it turns snapshot bytes into a compiled index, JS context
objects into the engine's [`vexil_eval::Context`], and results into plain JS objects in Flipt's
field names. All flag logic stays in `vexil-eval`.

```js
import init, { Engine } from './pkg/vexil_wasm.js';
await init();
const engine = new Engine();
engine.load(snapshotBytesOrText);        // throws on a bad snapshot; the old one stays loaded
engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro' });
// → { flagKey, match, reason, variantKey, variantAttachment, segmentKeys }
```

Errors are thrown as JS `Error`s (`Result<_, JsError>`): a malformed snapshot, an unknown flag or
a flag of the other type. Nothing on this path panics; the wasm profile aborts on panic, so a
panic would be a bug, not an error path.

Modules: `input` (sniffing and inflating snapshot bytes), `properties` (which context properties
each flag reads), `context` (reading them from the caller's object), `results` (building the
result objects), `engine` (the exported class), `fast` (the numeric path the JS SDK takes:
`describe`, `scratchLayout`, `evaluateAt`; inputs and results as bytes and integers in wasm
memory, see www/src/fast-engine.js).
*/

#![deny(missing_docs)]

#[cfg(feature = "boundary-bench")]
mod boundary_bench;
mod context;
mod engine;
mod fast;
pub mod input;
mod properties;
mod results;

pub use engine::Engine;

// Single-threaded WebAssembly (no `atomics`): talc's dynamic heap grows wasm memory as needed.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
