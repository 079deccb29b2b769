// This SDK's evaluations against Flipt's published JS client (@flipt-io/flipt-client-js 0.5.1),
// in one Node process, on the same namespace (examples/flags' snapshot) and the same requests.
//
//   node benches/js/sdk-vs-flipt.mjs        (needs www/pkg: `./x wasm`, and the vexil binary)
//   VEXIL_BIN=<path>  BENCH_MS=<ms per measurement, default 1500>  VEXIL_SEED=<int>
//
// Prints ns per evaluation of each and the ratio. The SDK's `Client` and `Engine` take the wasm
// engine's numeric path (www/src/fast-engine.js); the last column is the wasm-bindgen class's own
// string methods, the path the SDK took before, measured in the same run. Results:
// benches/README.md, "JS SDK vs Flipt's client".

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Client, Engine } from '../../www/src/index.node.js';
import { Engine as WasmEngine } from '../../www/pkg/vexil_wasm.js';
import { EXAMPLE_FLAGS, randomRequests } from '../../www/test/support/example-requests.mjs';
import { Rng } from '../../www/test/support/random.mjs';

const { FliptClient, ErrorStrategy } = await import(
  new URL('../../www/node_modules/@flipt-io/flipt-client-js/dist/node/index.mjs', import.meta.url)
);

const VEXIL_BIN = process.env.VEXIL_BIN ?? fileURLToPath(new URL('../../target/debug/vexil', import.meta.url));
const FLAGS_DIR = fileURLToPath(new URL('../../examples/flags', import.meta.url));
const BENCH_MS = Number(process.env.BENCH_MS || 1500);
const SEED = Number(process.env.VEXIL_SEED || 7);

const snapshotText = execFileSync(VEXIL_BIN, ['snapshot', '--flags', FLAGS_DIR, '--namespace', 'default'], { encoding: 'utf8' });
const snapshot = JSON.parse(snapshotText);

const vexil = await Client.start({ seed: snapshotText });
const engine = new Engine();
engine.load(snapshotText);
const wasmEngine = new WasmEngine();
wasmEngine.load(snapshotText);
const flipt = await startFlipt(snapshot);

// Requests for existing flags only (an unknown flag throws on both sides), split by type.
const requests = randomRequests(new Rng(SEED), 2000).filter((r) => EXAMPLE_FLAGS.includes(r.flagKey));
const variantRequests = requests.filter((r) => vexil.getFlag(r.flagKey).type === 'VARIANT_FLAG_TYPE');
const booleanRequests = requests.filter((r) => vexil.getFlag(r.flagKey).type === 'BOOLEAN_FLAG_TYPE');

checkAgreement();

const rows = [];
for (const [kind, list] of [['variant', variantRequests], ['boolean', booleanRequests]]) {
  const method = kind === 'variant' ? 'evaluateVariant' : 'evaluateBoolean';
  const fliptNs = measure(list, (r) => flipt[method](r));
  const clientNs = measure(list, (r) => vexil[method](r));
  const engineNs = measure(list, (r) => engine[method](r.flagKey, r.entityId, r.context));
  const stringNs = measure(list, (r) => wasmEngine[method](r.flagKey, r.entityId, r.context));
  rows.push({ kind, fliptNs, clientNs, engineNs, stringNs });
}

console.log(`node ${process.version}, ${requests.length} requests (seed ${SEED}), ${BENCH_MS} ms per measurement\n`);
console.log('| evaluation | Flipt client 0.5.1 | @vexil/sdk Client | SDK Engine | Flipt / Client | string methods (before) |');
console.log('|---|---|---|---|---|---|');
for (const { kind, fliptNs, clientNs, engineNs, stringNs } of rows) {
  console.log(`| ${kind} | ${fmt(fliptNs)} | ${fmt(clientNs)} | ${fmt(engineNs)} | **${(fliptNs / clientNs).toFixed(1)}×** | ${fmt(stringNs)} (${(fliptNs / stringNs).toFixed(1)}×) |`);
}

vexil.close();
flipt.close();
engine.free();
wasmEngine.free();

/** Median ns per evaluation of five rounds, each running the whole list until BENCH_MS/5 passed. */
function measure(list, evaluate) {
  let sink = 0;
  const round = (budgetMs) => {
    let count = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(Math.round(budgetMs * 1e6));
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < list.length; i++) sink += evaluate(list[i]).segmentKeys.length;
      count += list.length;
      now = process.hrtime.bigint();
    }
    return Number(now - start) / count;
  };
  round(BENCH_MS / 5); // warm-up: JIT and the engine's string cache
  const rounds = Array.from({ length: 5 }, () => round(BENCH_MS / 5)).sort((a, b) => a - b);
  if (sink < 0) console.log(sink);
  return rounds[2];
}

function fmt(ns) {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${Math.round(ns)} ns`;
}

/** The two must give the same answers, or the comparison means nothing. */
function checkAgreement() {
  for (const r of requests) {
    const method = vexil.getFlag(r.flagKey).type === 'VARIANT_FLAG_TYPE' ? 'evaluateVariant' : 'evaluateBoolean';
    const a = vexil[method](r);
    const b = flipt[method](r);
    const same = method === 'evaluateVariant'
      ? a.variantKey === b.variantKey && a.reason === b.reason && a.match === b.match
      : a.enabled === b.enabled && a.reason === b.reason;
    if (!same) throw new Error(`disagreement on ${JSON.stringify(r)}: vexil ${JSON.stringify(a)}, flipt ${JSON.stringify(b)}`);
  }
}

async function startFlipt(snapshotJson) {
  const fetcher = async () => ({ ok: true, status: 200, statusText: 'OK', headers: { get: () => null }, json: async () => snapshotJson });
  const warn = console.warn;
  console.warn = () => {}; // the wasm loader warns about its own deprecated init signature
  try {
    return await FliptClient.init({ namespace: 'default', fetcher, errorStrategy: ErrorStrategy.Fail, updateInterval: 0 });
  } finally {
    console.warn = warn;
  }
}
