// The wasm engine and the SDK's slim entry under Deno: the example snapshot (compiled by
// `vexil snapshot --format compiled`) loads, answers the known cases and a few hundred random
// requests exactly as `vexil evaluate` does, and a malformed snapshot throws without losing the
// loaded one.
//
// Run from www/ (`./x test-deno` does):
//   DENO_NO_UPDATE_CHECK=1 npx deno test --allow-read --allow-run=$VEXIL_BIN \
//     --allow-env=VEXIL_BIN,VEXIL_SEED test/deno/
//
//   VEXIL_BIN=<path>   the vexil binary (default ../target/debug/vexil, relative to www/)
//   VEXIL_SEED=<int>   replay a run (the seed is printed, and named in every failure)

import { assert, assertEquals, assertThrows } from './assert.js';
import { Client, Engine, init } from '../../src/slim.js';
import { randomRequests } from '../support/example-requests.mjs';
import { Rng } from '../support/random.mjs';

const WASM = new URL('../../pkg/vexil_wasm_bg.wasm', import.meta.url);
const FLAGS = new URL('../../../examples/flags', import.meta.url).pathname;
const VEXIL_BIN = Deno.env.get('VEXIL_BIN') || new URL('../../../target/debug/vexil', import.meta.url).pathname;
const RANDOM_REQUESTS = 300;

/** Runs vexil with `args` (and `stdin`), returning its stdout; throws with stderr on failure. */
async function vexil(args, stdin) {
  return new TextDecoder().decode(await vexilBytes(args, stdin));
}

/** The same, returning stdout's bytes. */
async function vexilBytes(args, stdin) {
  const child = new Deno.Command(VEXIL_BIN, { args, stdin: stdin ? 'piped' : 'null', stdout: 'piped', stderr: 'piped' }).spawn();
  if (stdin) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  if (code !== 0) throw new Error(`vexil ${args.join(' ')} exited ${code}: ${decoder.decode(stderr)}`);
  return stdout;
}

await init(await Deno.readFile(WASM));
const SNAPSHOT = await vexilBytes(['snapshot', '--flags', FLAGS, '--namespace', 'default', '--format', 'compiled']);
const SNAPSHOT_JSON = await vexil(['snapshot', '--flags', FLAGS, '--namespace', 'default']);
/** The SHA-256 of the compiled bytes, in hex: what the engine names a snapshot by. */
const DIGEST = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', SNAPSHOT)), (b) => b.toString(16).padStart(2, '0')).join('');

/** A batch item without timing fields, segment keys sorted: what two evaluators must agree on. */
function normalize({ type, variantResponse: v, booleanResponse: b, errorResponse: e }) {
  if (v) return { type, flagKey: v.flagKey, match: v.match, reason: v.reason, variantKey: v.variantKey, variantAttachment: v.variantAttachment, segmentKeys: [...v.segmentKeys].sort() };
  if (b) return { type, flagKey: b.flagKey, enabled: b.enabled, reason: b.reason, segmentKeys: [...b.segmentKeys].sort() };
  return { type, flagKey: e?.flagKey, reason: e?.reason };
}

function loadedEngine() {
  const engine = new Engine();
  engine.load(SNAPSHOT);
  return engine;
}

Deno.test('the example snapshot loads with its digest and flags', () => {
  const engine = new Engine();
  const loaded = engine.load(SNAPSHOT);
  assertEquals(loaded, { namespace: 'default', digest: DIGEST, flags: 5 });
  assertEquals(engine.digest, loaded.digest);
  assertEquals(engine.namespace, 'default');
  assertEquals(engine.listFlags().map((flag) => [flag.key, flag.type, flag.enabled]), [
    ['new-checkout', 'VARIANT_FLAG_TYPE', true],
    ['holiday-banner', 'VARIANT_FLAG_TYPE', false],
    ['search-ranking', 'VARIANT_FLAG_TYPE', true],
    ['dark-mode', 'BOOLEAN_FLAG_TYPE', false],
    ['free-shipping', 'BOOLEAN_FLAG_TYPE', true],
  ]);
});

Deno.test('known answers', () => {
  const engine = loadedEngine();
  assertEquals(engine.evaluateVariant('new-checkout', 'ann@vexil.dev', {}), {
    flagKey: 'new-checkout',
    match: true,
    reason: 'MATCH_EVALUATION_REASON',
    variantKey: 'one-page',
    variantAttachment: '{"layout":{"columns":2,"express":true},"steps":1}',
    segmentKeys: ['staff'],
  });
  const holiday = engine.evaluateVariant('holiday-banner', 'anyone', {});
  assertEquals([holiday.match, holiday.reason, holiday.variantKey], [false, 'FLAG_DISABLED_EVALUATION_REASON', 'none']);
  // Numbers in the context read as JS prints them.
  const paying = engine.evaluateVariant('new-checkout', 'user-7', { plan: 'pro', seats: 12, country: 'NL' });
  assertEquals(paying.segmentKeys, ['paying-customers', 'europe']);
  assertEquals(engine.evaluateBoolean('free-shipping', 'x', { blocked: 'true' }),
    { flagKey: 'free-shipping', enabled: false, reason: 'MATCH_EVALUATION_REASON', segmentKeys: ['blocked-accounts'] });
  assertThrows(() => engine.evaluateBoolean('new-checkout', 'x', {}), Error, 'variant flag');
  assertThrows(() => engine.evaluateVariant('no-such-flag', 'x', {}), Error, 'not found');
});

Deno.test('random requests: the engine answers as `vexil evaluate`', async (t) => {
  const seed = Number(Deno.env.get('VEXIL_SEED') || Math.floor(Math.random() * 2 ** 31));
  const requests = randomRequests(new Rng(seed), RANDOM_REQUESTS);
  const want = JSON.parse(await vexil(['evaluate', '--flags', FLAGS, '--batch', '-'], JSON.stringify({ requests })))
    .responses.map(normalize);
  const got = loadedEngine().evaluateBatch(requests).responses.map(normalize);
  await t.step(`seed ${seed}`, () => {
    assertEquals(got.length, requests.length);
    // The comparison means something only if the answers vary.
    const kinds = new Set(want.map((answer) => `${answer.type} ${answer.reason}`));
    assert(kinds.size >= 6, `seed ${seed}: only ${[...kinds].join(', ')}`);
    const i = got.findIndex((answer, k) => JSON.stringify(answer) !== JSON.stringify(want[k]));
    assert(i < 0, `seed ${seed} (replay with VEXIL_SEED=${seed}): request #${i} ${JSON.stringify(requests[i])}\n`
      + `  engine: ${JSON.stringify(got[i])}\n  vexil:  ${JSON.stringify(want[i])}`);
  });
});

Deno.test('a gzip-compressed seed loads to the same snapshot', async () => {
  const gzip = new Response(new Blob([SNAPSHOT]).stream().pipeThrough(new CompressionStream('gzip')));
  const client = await Client.start({ seed: new Uint8Array(await gzip.arrayBuffer()) });
  try {
    assertEquals(client.digest, DIGEST);
  } finally {
    client.close();
  }
});

Deno.test('a malformed snapshot throws and the loaded one keeps answering', () => {
  const engine = loadedEngine();
  const digest = engine.digest;
  const before = engine.evaluateVariant('new-checkout', 'ann@vexil.dev', {});
  const broken = [
    SNAPSHOT_JSON,
    SNAPSHOT.slice(0, SNAPSHOT.length - 1),
    new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]), // a gzip header and then garbage
    42,
  ];
  for (const snapshot of broken) {
    const error = assertThrows(() => engine.load(snapshot), Error);
    assertEquals(error.code, 'BAD_SNAPSHOT');
    assertEquals(engine.digest, digest);
    assertEquals(engine.evaluateVariant('new-checkout', 'ann@vexil.dev', {}), before);
  }
});

Deno.test('the SDK client answers from a seed, without a server', async () => {
  const client = await Client.start({ seed: SNAPSHOT, namespace: 'default' });
  try {
    assertEquals(client.digest, DIGEST);
    assertEquals(client.evaluateVariant({ flagKey: 'new-checkout', entityId: 'ann@vexil.dev' }).variantKey, 'one-page');
    assertEquals(client.evaluateBoolean({ flagKey: 'dark-mode', entityId: 'ann@vexil.dev' }).enabled, true);
  } finally {
    client.close();
  }
});
