// Writes the conformance corpus (crates/vexil-eval/tests/conformance/): snapshots, requests,
// and the answers of Flipt's own engine (@flipt-io/flipt-client-js@0.5.1) to them, with the
// deliberate differences of DESIGN.md §3 marked. Every engine Vexil has runs the corpus through
// one `check()`: natively in Rust (crates/vexil-eval/tests/conformance.rs) and in JS by the
// SDK's engine (test/conformance/check.mjs) in Node, Deno, workerd and Chromium.
//
// Run once, when a case is added or the compiled format changes (`./x conformance`), and commit
// what it writes. Vexil's answers are not consulted: the expected answers are Flipt's, or, where
// a case is marked as a difference, what DESIGN.md says Vexil answers instead. Each snapshot is
// pinned by the SHA-256 of its JSON text and of its compiled form (`vexil snapshot
// --from-snapshot`), so a compiled snapshot is the same bytes on every machine.
//
//   VEXIL_BIN=<path>   the vexil binary (default ../target/debug/vexil, relative to www/)

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { FliptOracle } from '../support/engines.mjs';
import { Rng } from '../support/random.mjs';
import { generateNamespace } from '../support/snapshot-gen.mjs';
import { randomContext, randomEntityId, randomRequests } from '../support/example-requests.mjs';
import { VEXIL_BIN } from '../support/server.mjs';

const OUT = fileURLToPath(new URL('../../../crates/vexil-eval/tests/conformance/', import.meta.url));
const EXAMPLE_FLAGS = fileURLToPath(new URL('../../../examples/flags', import.meta.url));
const GENERATED_SEEDS = [11, 23, 37, 41];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

// Snapshot JSON written by hand, as in crates/vexil-eval/tests/support.
const segment = (key, matchType, constraints) => ({ key, name: key, matchType: `${matchType}_SEGMENT_MATCH_TYPE`, constraints });
const constraint = (type, property, operator, value) => ({ type: `${type}_CONSTRAINT_COMPARISON_TYPE`, property, operator, value });
const everyone = () => segment('everyone', 'ALL', []);
const rule = (operator, segments, shares) => ({
  segmentOperator: `${operator}_SEGMENT_OPERATOR`,
  segments,
  distributions: shares.map(([variantKey, rollout]) => ({ variantKey, variantAttachment: '', rollout })),
});
const variantFlag = (key, enabled, rules) => ({ key, name: key, enabled, type: 'VARIANT_FLAG_TYPE', rules, rollouts: [] });
const booleanFlag = (key, enabled, rollouts) => ({ key, name: key, enabled, type: 'BOOLEAN_FLAG_TYPE', rules: [], rollouts });
const threshold = (percentage, value) => ({ type: 'THRESHOLD_ROLLOUT_TYPE', threshold: { percentage, value } });
const segmentRollout = (operator, segments, value) => ({ type: 'SEGMENT_ROLLOUT_TYPE', segment: { value, segmentOperator: `${operator}_SEGMENT_OPERATOR`, segments } });
const snapshotOf = (flags, key = 'default') => ({ namespace: { key }, flags });
const noContext = (flagKey, entityIds) => entityIds.map((entityId) => ({ flagKey, entityId, context: {} }));

/** Flipt's published vectors: CRC-32 buckets, distribution boundaries, threshold edges. */
function fliptVectors() {
  const split = (key, shares) => variantFlag(key, true, [rule('OR', [everyone()], shares)]);
  return {
    about: "Flipt's own test vectors: buckets of a 50/50 split, shares that round to nothing, a threshold on either side of its entity's bucket",
    snapshot: snapshotOf([
      split('foo', [['variant1', 50], ['variant2', 50]]),
      split('tiny', [['v0', 50], ['v1', 0.01], ['v2', 49.99]]),
      split('bar', [['v0', 99.99], ['v1', 0.01]]),
      split('baz', [['v0', 50], ['v1', 0.01], ['v2', 0.01], ['v3', 49.98]]),
      booleanFlag('test-flag-65', false, [threshold(65, true)]),
      booleanFlag('test-flag-66', false, [threshold(66, true)]),
    ]),
    requests: [
      ...noContext('foo', ['1', '2', '10', '01']),
      ...noContext('tiny', ['2325', '2012']),
      ...noContext('bar', ['608']),
      ...noContext('baz', ['500']),
      ...noContext('test-flag-65', ['test-entity']),
      ...noContext('test-flag-66', ['test-entity']),
    ],
  };
}

/**
 * DESIGN.md §3's deliberate differences that an answer shows: each request's `vexil` is what
 * Vexil answers instead of Flipt (merged over Flipt's answer), `difference` says why.
 */
function differences() {
  const probe = (key, type, operator, value) => booleanFlag(key, false, [
    segmentRollout('OR', [segment(key, 'ALL', [constraint(type, 'p', operator, value)])], true),
  ]);
  const matched = (key) => ({ enabled: true, reason: 'MATCH_EVALUATION_REASON', segmentKeys: [key] });
  const ask = (flagKey, p, vexil, difference) => ({ flagKey, entityId: 'e', context: { p }, vexil, difference });
  const f64 = 'numbers are f64: Flipt parses them as i32, so a fraction or a number beyond i32 never matches there';
  const dates = 'a bare YYYY-MM-DD date is midnight UTC: Flipt reads only full RFC 3339';
  const escapes = 'a string list is JSON: Flipt reads it without unescaping, so a list with an escape never matches there';
  return {
    about: 'The deliberate differences of DESIGN.md §3 that show in answers, and the agreements beside them',
    snapshot: snapshotOf([
      probe('number-gt', 'NUMBER', 'gt', '1'),
      probe('number-list', 'NUMBER', 'isoneof', '[2, 4]'),
      probe('date-eq', 'DATETIME', 'eq', '2024-06-01T00:00:00Z'),
      probe('escaped-list', 'STRING', 'isoneof', '["a\\"b","c"]'),
    ]),
    requests: [
      ask('number-gt', '1.5', matched('number-gt'), f64),
      ask('number-gt', '3000000000', matched('number-gt'), f64),
      ask('number-gt', '2'),
      ask('number-gt', '1'),
      ask('number-gt', 'inf'),
      ask('number-list', '2.0', matched('number-list'), f64),
      ask('number-list', '4'),
      ask('number-list', '3'),
      ask('date-eq', '2024-06-01', matched('date-eq'), dates),
      ask('date-eq', '2024-06-01T02:00:00+02:00'),
      ask('date-eq', '2024-06-01T00:00:01Z'),
      ask('escaped-list', 'c', matched('escaped-list'), escapes),
      ask('escaped-list', 'a"b', matched('escaped-list'), escapes),
      ask('escaped-list', 'd'),
    ],
  };
}

/** A snapshot Flipt loads (and never matches the bad value in) but Vexil refuses. */
function refusedMalformedValue() {
  return {
    about: 'A malformed constraint value: Flipt loads the snapshot and never matches it; Vexil refuses the snapshot',
    refused: 'a malformed constraint value is refused when the snapshot is compiled, not silently never matched (DESIGN.md §3)',
    snapshot: snapshotOf([
      booleanFlag('f', false, [segmentRollout('OR', [segment('s', 'ALL', [constraint('NUMBER', 'p', 'lt', 'ten')])], true)]),
    ]),
    requests: [{ flagKey: 'f', entityId: 'e', context: { p: '5' } }],
  };
}

/** A namespace of examples/flags, with random requests over its flags. */
function example(namespace, flagKeys, seed, count) {
  const text = execFileSync(VEXIL_BIN, ['snapshot', '--flags', EXAMPLE_FLAGS, '--namespace', namespace], { encoding: 'utf8' });
  const rng = new Rng(seed);
  const requests = namespace === 'default'
    ? randomRequests(rng, count).map(({ flagKey, entityId, context }) => ({ flagKey, entityId, context }))
    : Array.from({ length: count }, (_, i) => ({
      flagKey: rng.chance(0.05) ? `no-such-flag-${i}` : rng.pick(flagKeys),
      entityId: randomEntityId(rng),
      context: { ...randomContext(rng), build: String(rng.int(400, 440)), platform: rng.pick(['ios', 'android', 'web']), battery: String(rng.int(0, 100)) },
    }));
  return { about: `examples/flags, namespace ${namespace}: ${count} random requests (seed ${seed})`, text, requests };
}

/** A namespace of the randomized agreement test's generator, with its requests. */
function generated(seed) {
  const { snapshot, requests } = generateNamespace(new Rng(seed), 'default');
  return {
    about: `a namespace of www/test/support/snapshot-gen.mjs (seed ${seed}): every constraint type and operator, random splits and rollouts`,
    snapshot,
    requests: requests.map(({ flagKey, entityId, context }) => ({ flagKey, entityId, context })),
  };
}

/** Flipt's answers to `requests` on the snapshot `text`, by one client per namespace. */
async function fliptAnswers(oracles, text, requests) {
  const snapshot = JSON.parse(text);
  const key = snapshot.namespace.key;
  if (!oracles.has(key)) oracles.set(key, await FliptOracle.create(key, snapshotOf([], key)));
  const oracle = oracles.get(key);
  await oracle.load(snapshot);
  const plain = requests.map(({ flagKey, entityId, context }) => ({ flagKey, entityId, context }));
  return oracle.evaluate(plain);
}

/**
 * One corpus entry: `NAME.snapshot.json` (the JSON Flipt read), `NAME.compiled` (its compiled
 * form, unless Vexil refuses the snapshot) and `NAME.cases.json` (both pinned by digest, each
 * request with its expected answers).
 */
async function writeEntry(oracles, name, spec) {
  const text = `${JSON.stringify(spec.snapshot ?? JSON.parse(spec.text), null, 2)}\n`;
  const flipt = await fliptAnswers(oracles, text, spec.requests);
  const snapshotFile = join(OUT, `${name}.snapshot.json`);
  writeFileSync(snapshotFile, text);
  const head = { name, about: spec.about, snapshotDigest: sha256(text) };
  if (spec.refused) {
    head.refused = spec.refused;
  } else {
    const compiled = execFileSync(VEXIL_BIN, ['snapshot', '--from-snapshot', snapshotFile, '--format', 'compiled']);
    writeFileSync(join(OUT, `${name}.compiled`), compiled);
    head.compiledDigest = sha256(compiled);
  }
  const cases = spec.requests.map(({ flagKey, entityId, context, vexil, difference }, i) => {
    const entry = { request: { flagKey, entityId, context }, flipt: flipt[i] };
    if (vexil) {
      const expected = { ...flipt[i], ...vexil };
      if (isDeepStrictEqual(expected, flipt[i])) {
        throw new Error(`${name}: case ${i} is marked as a difference, but Flipt answers ${JSON.stringify(flipt[i])} too`);
      }
      entry.vexil = expected;
      entry.difference = difference;
    }
    return entry;
  });
  writeFileSync(join(OUT, `${name}.cases.json`), render(head, cases));
  return cases.length;
}

/** JSON with one case per line: readable, and a changed answer is a one-line diff. */
function render(head, cases) {
  const lines = cases.map((entry) => `    ${JSON.stringify(entry)}`);
  const headText = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  return `${headText},\n  "cases": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

const specs = [
  ['flipt-vectors', fliptVectors()],
  ['differences', differences()],
  ['refused-malformed-value', refusedMalformedValue()],
  ['example-default', example('default', [], 7, 300)],
  ['example-mobile', example('mobile', ['offline-mode'], 9, 60)],
  ...GENERATED_SEEDS.map((seed) => [`generated-${seed}`, generated(seed)]),
];

const oracles = new Map();
try {
  mkdirSync(OUT, { recursive: true });
  for (const name of readdirSync(OUT)) {
    if (/\.(cases\.json|snapshot\.json|compiled)$|^index\.json$/.test(name)) rmSync(join(OUT, name));
  }
  for (const [name, spec] of specs) {
    const count = await writeEntry(oracles, name, spec);
    console.log(`${name}: ${count} cases${spec.refused ? ' (refused by Vexil)' : ''}`);
  }
  const index = { about: 'The conformance corpus: written by www/test/conformance/generate.mjs, read by every engine', entries: specs.map(([name]) => name) };
  writeFileSync(join(OUT, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
} finally {
  for (const oracle of oracles.values()) oracle.close();
}
