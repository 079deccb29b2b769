// @vexil/sdk for browsers: `Client.start()` fetches the `.wasm` file next to the glue the first
// time it runs. Call `init(url)` first to load it from elsewhere, or `init(module)` with one.

import { initFromUrl, setDefaultInit } from './engine.js';

setDefaultInit(() => initFromUrl());

export * from './slim.js';
