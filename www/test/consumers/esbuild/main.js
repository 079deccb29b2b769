// esbuild: the documented recipe. esbuild does not follow `new URL(..., import.meta.url)`, so the
// app imports the engine itself with the `file` loader (`loader: {'.wasm': 'file'}`: the import is
// the emitted file's path) and hands its URL to `init` before the first client starts.
import { init } from '@vexil/sdk';
import wasmUrl from '@vexil/sdk/pkg/vexil_wasm_bg.wasm';

import { evaluate } from '../browser-app.js';

evaluate(() => init(new URL(wasmUrl, import.meta.url)));
