// The conformance corpus in the Workers runtime: POST the entries (compiled snapshots in
// base64), get each entry's `check()` result back. Run by test/conformance.test.mjs in workerd.

import wasmModule from '../../pkg/vexil_wasm_bg.wasm';
import { Engine, initFromModule } from '../../src/slim.js';
import { check } from './check.mjs';

// Instantiated once per isolate, at start-up, as the edge worker does.
initFromModule(wasmModule);

const bytesOf = (base64) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));

export default {
  async fetch(request) {
    const entries = await request.json();
    const results = [];
    for (const { cases, snapshot, compiled } of entries) {
      results.push(await check({ cases, snapshot, compiled: compiled === null ? null : bytesOf(compiled) }, new Engine()));
    }
    return Response.json(results);
  },
};
