// Loading the wasm engine. The glue (`../pkg/vexil_wasm.js`, wasm-bindgen `--target web`) must be
// initialized once per realm before any `Engine` is made; each entry point picks how:
// Node reads the bytes from disk, browsers fetch them, edge runtimes hand over a compiled module.

import initWasm, { initSync } from '../pkg/vexil_wasm.js';
import { Engine, useMemory } from './wasm-engine.js';

export { Engine };

let ready = false;
let pending = null;
// What `ensureEngine()` runs when nobody initialized the engine yet (set by an entry point).
let defaultInit = null;

/** Initializes from a compiled `WebAssembly.Module` (what edge runtimes import `.wasm` as). */
export function initFromModule(module) {
  if (!ready) {
    useMemory(initSync({ module }).memory);
    ready = true;
  }
}

/** Initializes from the `.wasm` file's bytes (compiled synchronously). */
export function initFromBytes(bytes) {
  initFromModule(bytes instanceof WebAssembly.Module ? bytes : new WebAssembly.Module(bytes));
}

/**
 * Initializes by fetching the `.wasm` file (browsers): a URL, a string or a `Response`; by default
 * the file next to the glue.
 */
export function initFromUrl(url = new URL('../pkg/vexil_wasm_bg.wasm', import.meta.url)) {
  if (ready) return Promise.resolve();
  pending ??= initWasm({ module_or_path: url }).then((exports) => {
    useMemory(exports.memory);
    ready = true;
  }, (error) => {
    pending = null; // a failed fetch may be retried
    throw error;
  });
  return pending;
}

/** `init(x)`: a `WebAssembly.Module` or bytes (synchronous), or a URL or `Response` to fetch. */
export async function init(input) {
  if (input instanceof WebAssembly.Module || input instanceof ArrayBuffer || ArrayBuffer.isView(input)) {
    initFromBytes(input);
    return;
  }
  await initFromUrl(input);
}

export const isEngineReady = () => ready;

/** Sets what `ensureEngine()` runs when the engine was not initialized (entry points only). */
export function setDefaultInit(initializer) {
  defaultInit = initializer;
}

/** Resolves once the engine is usable, running the entry point's default initializer if needed. */
export async function ensureEngine() {
  if (ready) return;
  if (!defaultInit) {
    throw new Error('the Vexil wasm engine is not initialized: call init(wasmModuleOrBytes) first '
      + '(the "@vexil/sdk/slim" entry leaves that to the caller)');
  }
  await defaultInit();
}
