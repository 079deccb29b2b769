// Smoke test of the built engine (www/pkg) through the SDK's Engine in Node, against the `vexil`
// binary: the native engine is the oracle.
//
// Loads the example namespaces' compiled snapshots, evaluates examples/requests.json and random
// requests, and inputs that take other roads (numbers, booleans and bigints as JS prints them,
// absent values, non-ASCII text, values longer than the scratch region, inherited properties, a
// context getter that evaluates again), and compares every answer with `vexil evaluate --batch`;
// checks the digest is the SHA-256 of the bytes, that bad snapshots and bad arguments throw
// VexilErrors with their codes and keep the old snapshot. Exits non-zero on any mismatch.
//
// Usage: node crates/vexil-wasm/smoke.mjs target/debug/vexil examples/flags

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { Engine, initFromModule } from '../../www/src/slim.js';
import { randomRequests } from '../../www/test/support/example-requests.mjs';
import { Rng } from '../../www/test/support/random.mjs';

const [vexil, flagsDir] = process.argv.slice(2);
const root = new URL('../../', import.meta.url);
initFromModule(new WebAssembly.Module(readFileSync(new URL('www/pkg/vexil_wasm_bg.wasm', root))));

const compiled = (namespace) => new Uint8Array(execFileSync(vexil, ['snapshot', '--flags', flagsDir, '--namespace', namespace, '--format', 'compiled'], { cwd: root }));
/** `vexil evaluate --batch` of these requests (read from stdin), as the engine shapes them. */
function native(requests) {
  const input = JSON.stringify({ requests });
  const output = execFileSync(vexil, ['evaluate', '--flags', flagsDir, '--batch', '-'], { input, cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  return JSON.parse(output).responses.map(withoutMeta);
}

// What the CLI adds and the engine leaves out: request ids, durations, timestamps.
function withoutMeta(item) {
  const inner = item.variantResponse ?? item.booleanResponse;
  if (!inner) return item;
  const { requestId, requestDurationMillis, timestamp, ...rest } = inner;
  return { type: item.type, [item.variantResponse ? 'variantResponse' : 'booleanResponse']: rest };
}

/** A JS value as the engine reads it: strings as they are, numbers and the like printed. */
function text(value) {
  const type = typeof value;
  if (type === 'string') return value.toWellFormed();
  return type === 'number' || type === 'boolean' || type === 'bigint' ? String(value) : undefined;
}

/** The context the engine sees in `context`, as the CLI takes it: string values only. */
function plainContext(context) {
  const plain = {};
  if (context === null || typeof context !== 'object') return plain;
  for (const key in context) {
    const value = text(context[key]);
    if (value !== undefined) plain[key] = value;
  }
  return plain;
}

let checks = 0;
const long = 'x'.repeat(5000) + 'é';
const oddContexts = [undefined, null, 'text', 7, [], { role: 'admin', beta: true, seats: 12, basket_total: 250.5, items: 3n },
  { role: null, beta: 'true', email: 'émile@vexil.dev', country: { name: 'NL' }, timezone: 'Europe/Paris' },
  { email: long, role: 'support', signed_up_at: '2023-05-01T00:00:00Z', client: '😀 iOS\ud800' },
  Object.assign(Object.create({ role: 'admin' }), { country: 'FR' })];
const oddEntities = ['', 'user-7', 'émile@vexil.dev', '😀', long, 42, 7.5, true, 12n];
const examples = JSON.parse(readFileSync(new URL('examples/requests.json', root), 'utf8')).requests;

for (const namespace of ['default', 'mobile']) {
  const bytes = compiled(namespace);
  const engine = new Engine();
  const loaded = engine.load(bytes);
  const digest = createHash('sha256').update(bytes).digest('hex');
  assert.deepEqual(loaded, { namespace, digest, flags: engine.listFlags().length });
  assert.equal(engine.digest, digest);
  assert.equal(engine.namespace, namespace);

  const keys = engine.listFlags().map((flag) => flag.key).concat(['no-such-flag']);
  const requests = examples.filter((r) => (r.namespaceKey ?? 'default') === namespace)
    .concat(randomRequests(new Rng(11), 400, namespace));
  for (const flagKey of keys) {
    for (const entityId of oddEntities) {
      for (const context of oddContexts) requests.push({ flagKey, entityId, context, namespaceKey: namespace });
    }
  }
  const expected = native(requests.map((r) => ({ ...r, entityId: text(r.entityId), context: plainContext(r.context), namespaceKey: namespace })));
  // The batch, entry by entry, as the CLI answers it; each single evaluation agrees.
  const { responses } = engine.evaluateBatch(requests);
  requests.forEach((request, i) => {
    if (!isDeepStrictEqual(responses[i], expected[i])) {
      const shown = JSON.stringify(request, (key, value) => (typeof value === 'bigint' ? `${value}n` : value)).slice(0, 300);
      assert.deepEqual(responses[i], expected[i], `${namespace}: ${shown}`);
    }
    const item = responses[i];
    const args = [request.flagKey, request.entityId, request.context];
    if (item.variantResponse) {
      assert.deepEqual(engine.evaluateVariant(...args), item.variantResponse);
      assert.throws(() => engine.evaluateBoolean(...args), { code: 'TYPE_MISMATCH', message: /is a variant flag: use evaluateVariant/ });
    } else if (item.booleanResponse) {
      assert.deepEqual(engine.evaluateBoolean(...args), item.booleanResponse);
      assert.throws(() => engine.evaluateVariant(...args), { code: 'TYPE_MISMATCH', message: /is a boolean flag: use evaluateBoolean/ });
    } else {
      assert.throws(() => engine.evaluateVariant(...args), { code: 'FLAG_NOT_FOUND', message: /not found in namespace/ });
    }
    checks += 2;
  });
  // Another namespace's requests are error entries, as Flipt's batch gives them.
  const other = engine.evaluateBatch({ requests: [{ flagKey: keys[0], entityId: 'u', namespaceKey: 'other' }] });
  assert.deepEqual(other.responses[0].errorResponse, { flagKey: keys[0], namespaceKey: 'other', reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' });
  // A context getter evaluating again (re-entering the scratch region) leaves both answers right.
  if (namespace === 'default') {
    let inner;
    const reentrant = { get role() { inner = engine.evaluateVariant('new-checkout', 'other', { role: 'support' }); return 'admin'; } };
    const [outer, nested] = native([{ flagKey: 'new-checkout', entityId: 'user-7', context: { role: 'admin' } },
      { flagKey: 'new-checkout', entityId: 'other', context: { role: 'support' } }]);
    assert.deepEqual(engine.evaluateVariant('new-checkout', 'user-7', reentrant), outer.variantResponse);
    assert.deepEqual(inner, nested.variantResponse);
    checks++;
  }
  engine.free();
}

// Bad snapshots and bad arguments throw, and the engine keeps answering from the previous one.
const engine = new Engine();
assert.throws(() => engine.evaluateVariant('new-checkout', 'u', {}), { code: 'EVALUATION', message: /no snapshot loaded/ });
engine.load(compiled('default'));
const before = engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: '12', country: 'NL' });
const digest = engine.digest;
const good = compiled('default');
for (const bad of ['{', good.slice(0, 20), good.slice(1), new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]), 42, null]) {
  assert.throws(() => engine.load(bad), { code: 'BAD_SNAPSHOT' });
  checks++;
}
assert.equal(engine.digest, digest);
assert.deepEqual(engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: '12', country: 'NL' }), before);
for (const entityId of [undefined, null, {}, [], Symbol('id'), () => 1]) {
  assert.throws(() => engine.evaluateVariant('new-checkout', entityId, {}), { code: 'EVALUATION', message: /entityId must be a string/ });
  checks++;
}
for (const flagKey of [undefined, null, {}, Symbol('key')]) {
  assert.throws(() => engine.evaluateBoolean(flagKey, 'u', {}), { code: 'EVALUATION', message: /flagKey must be a string/ });
  checks++;
}
assert.throws(() => engine.evaluateVariant(42, 'u', {}), { code: 'FLAG_NOT_FOUND', message: /flag "42" not found/ });
for (const input of [{}, 5, null]) assert.throws(() => engine.evaluateBatch(input), { code: 'EVALUATION' });
assert.throws(() => engine.evaluateBatch([{ entityId: 'u' }]), { code: 'EVALUATION', message: /requests\[0\]\.flagKey/ });

console.log(`wasm smoke: ${checks} checks passed`);
