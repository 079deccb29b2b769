// Smoke test of the built engine (www/pkg) in Node, against the `vexil` binary.
//
// Loads the example namespaces' snapshots (JSON text, gzip and zlib bytes), evaluates
// examples/requests.json and compares every answer with `vexil evaluate --batch`; checks that a
// bad snapshot throws and keeps the old one; checks that the SDK's Engine (the numeric path)
// answers and throws exactly as the string methods do. Exits non-zero on any mismatch.
//
// Usage: node crates/vexil-wasm/smoke.mjs target/debug/vexil examples/flags

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync, deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { initSync, Engine } from '../../www/pkg/vexil_wasm.js';
import { Engine as SdkEngine, initFromModule } from '../../www/src/slim.js';
import { randomRequests } from '../../www/test/support/example-requests.mjs';
import { Rng } from '../../www/test/support/random.mjs';

const [vexil, flagsDir] = process.argv.slice(2);
const root = new URL('../../', import.meta.url);
initSync({ module: readFileSync(new URL('www/pkg/vexil_wasm_bg.wasm', root)) });

initFromModule(new WebAssembly.Module(readFileSync(new URL('www/pkg/vexil_wasm_bg.wasm', root))));

const run = (...args) => execFileSync(vexil, args, { encoding: 'utf8', cwd: root });
const batch = JSON.parse(readFileSync(new URL('examples/requests.json', root), 'utf8'));
const expected = JSON.parse(run('evaluate', '--flags', flagsDir, '--batch', 'examples/requests.json'));

// What the CLI adds and the engine leaves out: request ids, durations, timestamps.
function withoutMeta(response) {
  const { requestId, requestDurationMillis, timestamp, ...rest } = response;
  return rest;
}
function expectedItem(item) {
  const inner = item.variantResponse ?? item.booleanResponse;
  if (!inner) return item;
  const key = item.variantResponse ? 'variantResponse' : 'booleanResponse';
  return { type: item.type, [key]: withoutMeta(inner) };
}

let checks = 0;
for (const namespace of ['default', 'mobile']) {
  const json = run('snapshot', '--flags', flagsDir, '--namespace', namespace).trim();
  const digest = JSON.parse(json).digest;
  const requests = batch.requests.filter((r) => (r.namespaceKey ?? 'default') === namespace);
  const bytes = Buffer.from(json);
  for (const [encoding, data] of [
    ['json text', json],
    ['json bytes', new Uint8Array(bytes)],
    ['gzip', new Uint8Array(gzipSync(bytes))],
    ['zlib', new Uint8Array(deflateSync(bytes))],
  ]) {
    const engine = new Engine();
    const loaded = engine.load(data);
    assert.deepEqual(loaded, { namespace, digest, flags: JSON.parse(json).flags.length }, encoding);
    assert.equal(engine.digest, digest);
    assert.equal(engine.namespace, namespace);

    // The batch, entry by entry, as the CLI answers it.
    const { responses } = engine.evaluateBatch(requests);
    requests.forEach((request, i) => {
      const position = batch.requests.indexOf(request);
      assert.deepEqual(responses[i], expectedItem(expected.responses[position]), `${encoding}: ${request.flagKey}`);
      checks++;
    });

    // Single evaluations agree with the batch.
    requests.forEach((request, i) => {
      const item = responses[i];
      const args = [request.flagKey, request.entityId, request.context];
      if (item.variantResponse) assert.deepEqual(engine.evaluateVariant(...args), item.variantResponse);
      else if (item.booleanResponse) assert.deepEqual(engine.evaluateBoolean(...args), item.booleanResponse);
      else assert.throws(() => engine.evaluateVariant(...args), /not found/);
      checks++;
    });
  }
}

// A bad snapshot throws, and the engine keeps answering from the previous one.
const engine = new Engine();
assert.throws(() => engine.evaluateVariant('new-checkout', 'u', {}), /no snapshot loaded/);
engine.load(run('snapshot', '--flags', flagsDir).trim());
const before = engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: '12', country: 'NL' });
const digest = engine.digest;
for (const bad of ['{', '{"namespace":{"key":"x"},"flags":[{"key":"f","type":"OTHER"}]}',
  new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), new Uint8Array(deflateSync(Buffer.from('{"flags":'))), 42]) {
  assert.throws(() => engine.load(bad), Error);
  checks++;
}
assert.equal(engine.digest, digest);
assert.deepEqual(engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: '12', country: 'NL' }), before);
assert.throws(() => engine.evaluateBoolean('new-checkout', 'u', {}), /variant flag/);
// Keys and ids of the wrong type are errors, never traps; numbers read as JS prints them.
for (const entityId of [undefined, null, {}, [], Symbol('id'), () => 1]) {
  assert.throws(() => engine.evaluateVariant('new-checkout', entityId, {}), /entityId must be a string/);
  checks++;
}
for (const flagKey of [undefined, null, {}, Symbol('key')]) {
  assert.throws(() => engine.evaluateBoolean(flagKey, 'u', {}), /flagKey must be a string/);
  checks++;
}
assert.deepEqual(engine.evaluateVariant('new-checkout', 42, {}), engine.evaluateVariant('new-checkout', '42', {}));
assert.deepEqual(engine.evaluateVariant('new-checkout', 12n, {}), engine.evaluateVariant('new-checkout', '12', {}));
assert.throws(() => engine.evaluateVariant(42, 'u', {}), /flag "42" not found/);
assert.deepEqual(engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: '12', country: 'NL' }), before);
assert.ok(engine.listFlags().some((flag) => flag.key === 'new-checkout' && flag.type === 'VARIANT_FLAG_TYPE'));

// The SDK's Engine (the numeric path, www/src/fast-engine.js) answers and throws exactly as the
// string methods do, on random requests and on the values that take other roads: numbers and
// booleans as JS prints them, absent ones, non-ASCII text, inputs longer than the scratch region.
const long = 'x'.repeat(5000) + 'é';
const oddContexts = [undefined, null, 'text', 7, [], { role: 'admin', beta: true, seats: 12, basket_total: 250.5, items: 3n },
  { role: null, beta: 'true', email: 'émile@vexil.dev', country: { name: 'NL' }, timezone: 'Europe/Paris' },
  { email: long, role: 'support', signed_up_at: '2023-05-01T00:00:00Z', client: '😀 iOS\ud800' },
  Object.assign(Object.create({ role: 'admin' }), { country: 'FR' })];
const oddEntities = ['', 'user-7', 'émile@vexil.dev', '😀', long, 42, 7.5, true, undefined, null, {}];
for (const namespace of ['default', 'mobile']) {
  const json = run('snapshot', '--flags', flagsDir, '--namespace', namespace).trim();
  const [plain, sdk] = [new Engine(), new SdkEngine()];
  plain.load(json);
  sdk.load(json);
  const flags = plain.listFlags().map((flag) => flag.key).concat(['no-such-flag', 42, null]);
  const requests = randomRequests(new Rng(11), 400, namespace).map((r) => [r.flagKey, r.entityId, r.context]);
  for (const flagKey of flags) {
    for (const entityId of oddEntities) {
      for (const context of oddContexts) requests.push([flagKey, entityId, context]);
    }
  }
  const outcome = (engine, method, args) => {
    try {
      return { result: engine[method](...args) };
    } catch (error) {
      return { error: String(error) };
    }
  };
  for (const args of requests) {
    for (const method of ['evaluateVariant', 'evaluateBoolean']) {
      assert.deepEqual(outcome(sdk, method, args), outcome(plain, method, args), `${method} ${args.slice(0, 2)}`);
      checks++;
    }
  }
  const batch = requests.map(([flagKey, entityId, context], i) => ({ flagKey, entityId, context, namespaceKey: i % 9 ? namespace : 'other' }));
  for (const input of [batch, { requests: batch }, [...batch, { entityId: 'u' }], {}, 5]) {
    assert.deepEqual(outcome(sdk, 'evaluateBatch', [input]), outcome(plain, 'evaluateBatch', [input]));
    checks++;
  }
  // A context getter evaluating again (re-entering the scratch region) leaves both answers right.
  const reentrant = { get role() { return sdk.evaluateVariant('new-checkout', 'other', { role: 'support' }).variantKey && 'admin'; } };
  if (namespace === 'default') {
    assert.deepEqual(sdk.evaluateVariant('new-checkout', 'user-7', reentrant), plain.evaluateVariant('new-checkout', 'user-7', { role: 'admin' }));
    checks++;
  }
  sdk.free();
  plain.free();
}

console.log(`wasm smoke: ${checks} checks passed`);
