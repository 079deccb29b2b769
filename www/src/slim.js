// @vexil/sdk/slim: the client and the engine, with no way of finding the wasm file itself. The
// caller initializes it with the compiled module (edge runtimes import `.wasm` files as modules
// and forbid compiling bytes at run time) or the bytes:
//
//   import wasm from '@vexil/sdk/pkg/vexil_wasm_bg.wasm';
//   import { init, Client } from '@vexil/sdk/slim';
//   init(wasm);

export { Client } from './client.js';
export { Engine, init, initFromBytes, initFromModule, initFromUrl, isEngineReady } from './engine.js';
export { VexilError } from './errors.js';
