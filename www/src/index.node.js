// @vexil/sdk for Node (and Deno or Bun with `node:fs`): the engine is ready at import, read from
// the `.wasm` file next to the glue and compiled synchronously.

import { readFileSync } from 'node:fs';

import { initFromBytes } from './engine.js';

initFromBytes(readFileSync(new URL('../pkg/vexil_wasm_bg.wasm', import.meta.url)));

export * from './slim.js';
