// Smoke test of the built engine (www/pkg) in Node, against the `vexil` binary.
//
// Loads the example namespaces' snapshots (JSON text, gzip and zlib bytes), evaluates
// examples/requests.json and compares every answer with `vexil evaluate --batch`; checks that a
// bad snapshot throws and keeps the old one. Exits non-zero on any mismatch.
//
// Usage: node crates/vexil-wasm/smoke.mjs target/debug/vexil examples/flags

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync, deflateSync } from 'node:zlib';
import assert from 'node:assert/strict';
import { initSync, Engine } from '../../www/pkg/vexil_wasm.js';

const [vexil, flagsDir] = process.argv.slice(2);
const root = new URL('../../', import.meta.url);
initSync({ module: readFileSync(new URL('www/pkg/vexil_wasm_bg.wasm', root)) });

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
assert.ok(engine.listFlags().some((flag) => flag.key === 'new-checkout' && flag.type === 'VARIANT_FLAG_TYPE'));

console.log(`wasm smoke: ${checks} checks passed`);
