// This SDK against Flipt's published JS client (@flipt-io/flipt-client-js 0.5.1) in Node, in one
// run: evaluation (ns per evaluation, one process, the example namespace and the same requests)
// and loading (a generated namespace of 10 to 10,000 flags served by `vexil serve`: the first
// `Client.start({url})` to its first answer in a fresh process, and the warm median, next to
// `FliptClient.init({url})` against the same server; and `Engine.load` of the compiled
// snapshot).
//
//   node benches/js/sdk-vs-flipt.mjs        (needs www/pkg: `./x wasm`, and the vexil binary)
//   VEXIL_BIN=<path>  BENCH_MS=<ms per measurement, default 1500>  VEXIL_SEED=<int>
//   BENCH_ROUNDS=<warm starts per client, default 15>  VEXIL_BENCH_SIZES=<flags,...: 10,100,1000,10000>
//
// Results: benches/README.md, "JS SDK vs Flipt's client".

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client, Engine } from '../../www/src/index.node.js';
import { EXAMPLE_FLAGS, randomRequests } from '../../www/test/support/example-requests.mjs';
import { Rng } from '../../www/test/support/random.mjs';
import { FIRST_REQUEST, writeNamespace } from './namespace.mjs';

const { FliptClient, ErrorStrategy } = await import(
  new URL('../../www/node_modules/@flipt-io/flipt-client-js/dist/node/index.mjs', import.meta.url)
);

const VEXIL_BIN = process.env.VEXIL_BIN ?? fileURLToPath(new URL('../../target/debug/vexil', import.meta.url));
const FLAGS_DIR = fileURLToPath(new URL('../../examples/flags', import.meta.url));
const BENCH_MS = Number(process.env.BENCH_MS || 1500);
const SEED = Number(process.env.VEXIL_SEED || 7);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 15);
const SIZES = (process.env.VEXIL_BENCH_SIZES || '10,100,1000,10000').split(',').map(Number);

const snapshot = JSON.parse(execFileSync(VEXIL_BIN, ['snapshot', '--flags', FLAGS_DIR, '--namespace', 'default'], { encoding: 'utf8' }));
const compiled = execFileSync(VEXIL_BIN, ['snapshot', '--flags', FLAGS_DIR, '--namespace', 'default', '--format', 'compiled']);

const vexil = await Client.start({ seed: compiled });
const engine = new Engine();
engine.load(compiled);
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
  rows.push({ kind, fliptNs, clientNs, engineNs });
}
vexil.close();
flipt.close();
engine.free();

console.log(`node ${process.version}, ${requests.length} requests (seed ${SEED}), ${BENCH_MS} ms per measurement\n`);
console.log('| evaluation | Flipt client 0.5.1 | @vexil/sdk Client | SDK Engine | Flipt / Client |');
console.log('|---|---|---|---|---|');
for (const { kind, fliptNs, clientNs, engineNs } of rows) {
  console.log(`| ${kind} | ${fmt(fliptNs)} | ${fmt(clientNs)} | ${fmt(engineNs)} | **${(fliptNs / clientNs).toFixed(1)}×** |`);
}

await compareLoading();

/** Loading: Client.start against FliptClient.init on one server, and Engine.load of compiled bytes. */
async function compareLoading() {
  const dir = mkdtempSync(join(tmpdir(), 'vexil-bench-load-'));
  const server = { stop: () => {} };
  try {
    for (const size of SIZES) writeNamespace(dir, `n${size}`, size);
    Object.assign(server, await serve(dir));
    console.log(`\n${ROUNDS} warm starts per client and size; "first" is one fresh process each\n`);
    console.log('| namespace | JSON / compiled (gzip) | Client first | FliptClient first | Client warm | FliptClient warm | Flipt / Client (warm) | Engine.load warm (first) |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const size of SIZES) {
      const namespace = `n${size}`;
      const sizes = await downloadSizes(server.url, namespace);
      const first = { vexil: firstStart('vexil', server.url, namespace), flipt: firstStart('flipt', server.url, namespace) };
      const warm = {
        vexil: await median(ROUNDS, async () => {
          const client = await Client.start({ url: server.url, namespace, stream: false });
          check(client.evaluateVariant(FIRST_REQUEST));
          client.close();
        }),
        flipt: await median(ROUNDS, async () => {
          const client = await initFlipt({ url: server.url, namespace, updateInterval: 3600 });
          check(client.evaluateVariant(FIRST_REQUEST));
          client.close();
        }),
      };
      const bytes = new Uint8Array(execFileSync(VEXIL_BIN, ['snapshot', '--flags', dir, '--namespace', namespace, '--format', 'compiled'], { maxBuffer: 1 << 28 }));
      const loader = new Engine();
      const loadFirst = time(() => loader.load(bytes));
      const load = await median(Math.max(ROUNDS, 30), () => loader.load(bytes));
      loader.free();
      console.log(`| ${size} flags | ${sizes} | ${ms(first.vexil)} | ${ms(first.flipt)} | ${ms(warm.vexil)} | ${ms(warm.flipt)} | **${(warm.flipt / warm.vexil).toFixed(1)}×** | ${ms(load)} (${ms(loadFirst)}) |`);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `vexil serve` on the directory; resolves `{url, stop}` once it listens. */
function serve(dir) {
  const child = spawn(VEXIL_BIN, ['serve', '--flags', dir, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) resolve({ url: match[1], stop });
      else reject(new Error(`vexil: ${line}`));
    });
    exited.then((code) => reject(new Error(`vexil exited (${code}) before listening`)));
  });
}

/** The JSON and compiled snapshots' sizes, plain and as sent with gzip. */
async function downloadSizes(url, namespace) {
  const path = `${url}/internal/v1/evaluation/snapshot/namespace/${namespace}`;
  const size = async (accept) => {
    const plain = await fetch(path, { headers: { accept, 'accept-encoding': 'identity' } });
    const plainBytes = (await plain.arrayBuffer()).byteLength;
    const gzip = await fetch(path, { headers: { accept, 'accept-encoding': 'gzip' } });
    const gzipBytes = Number(gzip.headers.get('content-length'));
    await gzip.arrayBuffer();
    return `${kb(plainBytes)} (${kb(gzipBytes)})`;
  };
  return `${await size('application/json')} / ${await size('application/vnd.vexil.snapshot')}`;
}

function firstStart(which, url, namespace) {
  const output = execFileSync(process.execPath, [fileURLToPath(new URL('first-start.mjs', import.meta.url)), which, url, namespace], { encoding: 'utf8' });
  return Number(output.trim());
}

async function initFlipt(options) {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await FliptClient.init(options);
  } finally {
    console.warn = warn;
  }
}

function check(answer) {
  if (answer.variantKey !== 'treatment') throw new Error(`answered ${JSON.stringify(answer)}`);
}

function time(run) {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** The median milliseconds of `rounds` runs (after one to warm up). */
async function median(rounds, run) {
  await run();
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function ms(value) {
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(value >= 10 ? 1 : 2)} ms`;
}

function kb(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} KB`;
}

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
