// Nanoseconds per evaluation across the JS boundary, for each way of passing the context and
// returning the result (see benches/README.md, "WebAssembly engine"). Needs the build from
// `./x wasm-bench` (target/wasm-bench, with the `boundary-bench` exports).
//
// Usage: node crates/vexil-wasm/bench.mjs target/debug/vexil examples/flags

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { initSync, Engine } from '../../target/wasm-bench/vexil_wasm.js';

const [vexil, flagsDir] = process.argv.slice(2);
const root = new URL('../../', import.meta.url);
initSync({ module: readFileSync(new URL('target/wasm-bench/vexil_wasm_bg.wasm', root)) });
const engine = new Engine();
engine.load(execFileSync(vexil, ['snapshot', '--flags', flagsDir], { encoding: 'utf8', cwd: root }));

// A variant flag whose rules read three properties, with a typical web context of eight.
const flag = 'new-checkout';
const context = { plan: 'pro', seats: '12', country: 'NL', locale: 'nl-NL', browser: 'firefox',
  os: 'linux', referrer: 'newsletter', cohort: '2024-q3' };
const flat = Object.entries(context).flat();
const entities = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

function measure(name, evaluate) {
  let sink = 0;
  const round = () => {
    for (const entity of entities) sink += evaluate(entity) ? 1 : 0;
  };
  for (let i = 0; i < 200; i++) round(); // Warm up the JIT.
  const rounds = 1000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) round();
  const ns = Number(process.hrtime.bigint() - started) / (rounds * entities.length);
  console.log(`${name.padEnd(58)} ${ns.toFixed(0).padStart(5)} ns/eval`);
  return sink;
}

measure('call only (3 arguments in, null out)', (e) => engine.benchCallOnly(flag, e, context) === null);
measure('shipped: fetch read properties, JS-built result', (e) => engine.evaluateVariant(flag, e, context));
measure('context: serde-wasm-bindgen to HashMap', (e) => engine.benchSerdeContext(flag, e, context));
measure('context: Object.entries, every property', (e) => engine.benchEntriesContext(flag, e, context));
measure('context: flat [k, v, ...] string array (caller flattens)', (e) => engine.benchFlatContext(flag, e, flat));
measure('context: flat array, flattened per call', (e) => engine.benchFlatContext(flag, e, Object.entries(context).flat()));
measure('result: serde-wasm-bindgen json_compatible', (e) => engine.benchSerdeResult(flag, e, context));
measure('result: Object + Reflect.set per field', (e) => engine.benchReflectResult(flag, e, context));
measure('JSON round trip (JSON.stringify in, JSON.parse out) est.', (e) => JSON.parse(JSON.stringify({ flag, e, context })));
