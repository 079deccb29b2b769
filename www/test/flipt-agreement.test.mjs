// Vexil must answer exactly as Flipt's own evaluator (the engine inside
// @flipt-io/flipt-client-js 0.5.1) on every input where DESIGN.md §3 promises agreement.
//
// Random namespaces are written as snapshot JSON, evaluated by `vexil evaluate`, by the SDK's
// wasm engine (the same namespace compiled) and by Flipt's client, and compared request by
// request.
//
//   VEXIL_SEED=<int>          replay a run (the seed is printed, and named in every failure)
//   VEXIL_BIN=<path>          the vexil binary (default ../target/debug/vexil)
//   VEXIL_NAMESPACES=<n>      namespaces per run (default 150; the coverage gate needs >= 150)
//   VEXIL_ONLY_NAMESPACE=<i>  run only namespace #i of the seed (to replay one failure)
//   VEXIL_FLIPT_ONLY=1        skip Vexil: check the generator against Flipt alone

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Rng, runSeed } from './support/random.mjs';
import { generateNamespace } from './support/snapshot-gen.mjs';
import { FliptOracle, evaluateWithVexil, evaluateWithWasm } from './support/engines.mjs';
import { Engine } from '../src/index.node.js';
import { differences, describeMismatch } from './support/compare.mjs';
import { PAIRS } from './support/values.mjs';

const NAMESPACE_KEY = 'default';
const NAMESPACES = Number(process.env.VEXIL_NAMESPACES || 150);
const ONLY_NAMESPACE = process.env.VEXIL_ONLY_NAMESPACE;
const FLIPT_ONLY = process.env.VEXIL_FLIPT_ONLY === '1';
const VEXIL_BIN = process.env.VEXIL_BIN
  ? resolve(process.env.VEXIL_BIN)
  : fileURLToPath(new URL('../../target/debug/vexil', import.meta.url));
const MIN_PER_SIDE = 50;
const GATE_NAMESPACES = 150; // enough probes that every operator reaches MIN_PER_SIDE each way
const MAX_REPORTED = 10;

/** Each namespace has its own stream, so one can be replayed without the others. */
const namespaceRng = (seed, index) => new Rng((seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0);

/** Per (type, operator): how often the probe's single constraint matched, per Flipt. */
class CoverageTally {
  constructor() {
    this.counts = new Map(PAIRS.map(([type, op]) => [`${type} ${op}`, { match: 0, miss: 0 }]));
  }

  record([type, operator], answer) {
    const entry = this.counts.get(`${type} ${operator}`);
    if (answer.enabled === true) entry.match++;
    else entry.miss++;
  }

  shortfalls(min) {
    return [...this.counts].filter(([, c]) => c.match < min || c.miss < min).map(([pair]) => pair);
  }

  table() {
    return [...this.counts]
      .map(([pair, c]) => `  ${pair.padEnd(22)} match ${String(c.match).padStart(5)}  no match ${String(c.miss).padStart(5)}`)
      .join('\n');
  }
}

/** Checks that Flipt took the snapshot at all: a shape it rejects shows up as errors or no matches. */
function checkFliptSane(seed, index, requests, answers) {
  assert.equal(answers.length, requests.length, `seed ${seed}, namespace #${index}: Flipt answered ${answers.length} of ${requests.length}`);
  answers.forEach((answer, i) => {
    // Errors for the unknown flags we asked for, and only for those.
    const unknown = requests[i].flagKey.startsWith('no-such-flag-');
    const isError = answer.type === 'ERROR_EVALUATION_RESPONSE_TYPE';
    assert.ok(
      unknown === isError,
      `seed ${seed}, namespace #${index}: Flipt answered ${JSON.stringify(answer)} to ${JSON.stringify(requests[i])}`,
    );
  });
}

test('Vexil agrees with Flipt on random namespaces', async (t) => {
  const seed = runSeed();
  t.diagnostic(`seed ${seed} (replay with VEXIL_SEED=${seed})`);
  if (!FLIPT_ONLY) {
    assert.ok(existsSync(VEXIL_BIN), `no vexil binary at ${VEXIL_BIN}: build it (cargo build) or set VEXIL_BIN`);
  }

  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'vexil-agreement-'));
  const tally = new CoverageTally();
  const mismatches = [];
  const seen = { compared: 0, variantKeys: new Set(), reasons: new Set() };
  const indexes = ONLY_NAMESPACE !== undefined
    ? [Number(ONLY_NAMESPACE)]
    : Array.from({ length: NAMESPACES }, (_, i) => i);

  let oracle;
  const engine = new Engine();
  let keepFiles = false;
  try {
    for (const index of indexes) {
      const rng = namespaceRng(seed, index);
      const { snapshot, requests, probes } = generateNamespace(rng, NAMESPACE_KEY);
      oracle ??= await FliptOracle.create(NAMESPACE_KEY, snapshot);
      await oracle.load(snapshot);
      const flipt = oracle.evaluate(requests);
      checkFliptSane(seed, index, requests, flipt);

      flipt.forEach((answer, i) => {
        const probe = probes.get(requests[i].flagKey);
        if (probe) tally.record(probe, answer);
        if (answer.variantKey) seen.variantKeys.add(answer.variantKey);
        if (answer.reason) seen.reasons.add(answer.reason);
      });
      if (FLIPT_ONLY) continue;

      let vexil;
      try {
        vexil = evaluateWithVexil(VEXIL_BIN, dir, `ns-${index}`, snapshot, requests);
      } catch (error) {
        keepFiles = true;
        assert.fail(`seed ${seed}, namespace #${index}: ${error.message}`);
      }
      if (vexil.answers.length !== requests.length) {
        keepFiles = true;
        assert.fail(`seed ${seed}, namespace #${index}: vexil answered ${vexil.answers.length} of ${requests.length} requests (${vexil.files.batchFile})`);
      }
      let wasm;
      try {
        wasm = evaluateWithWasm(VEXIL_BIN, engine, vexil.files, requests);
      } catch (error) {
        keepFiles = true;
        assert.fail(`seed ${seed}, namespace #${index}: the wasm engine: ${error.message} (${vexil.files.snapshotFile})`);
      }
      for (const [side, answers] of [['vexil', vexil.answers], ['wasm', wasm]]) {
        requests.forEach((request, i) => {
          seen.compared++;
          const diffs = differences(answers[i], flipt[i]);
          if (diffs.length === 0) return;
          keepFiles = true;
          mismatches.push(`[${side}] ` + describeMismatch({
            seed,
            namespaceIndex: index,
            request,
            flag: snapshot.flags.find((f) => f.key === request.flagKey),
            vexil: answers[i],
            flipt: flipt[i],
            diffs,
            files: vexil.files,
          }));
        });
      }
    }
  } finally {
    oracle?.close();
    engine.free();
    if (!keepFiles) rmSync(dir, { recursive: true, force: true });
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${indexes.length} namespaces, ${seen.compared} requests compared in ${seconds}s` +
    (FLIPT_ONLY ? ' (VEXIL_FLIPT_ONLY: Flipt side only)' : ''));

  assert.equal(
    mismatches.length, 0,
    `${mismatches.length} of ${seen.compared} answers differ (seed ${seed}; first ${Math.min(MAX_REPORTED, mismatches.length)} below)\n` +
      mismatches.slice(0, MAX_REPORTED).join('\n\n'),
  );

  // The generator must have produced answers worth comparing.
  assert.ok(seen.variantKeys.size >= 3, `seed ${seed}: Flipt picked only variants ${[...seen.variantKeys]}`);
  for (const reason of ['MATCH_EVALUATION_REASON', 'DEFAULT_EVALUATION_REASON', 'FLAG_DISABLED_EVALUATION_REASON', 'UNKNOWN_EVALUATION_REASON']) {
    assert.ok(seen.reasons.has(reason), `seed ${seed}: no answer had reason ${reason}`);
  }
  if (indexes.length < GATE_NAMESPACES) {
    t.diagnostic(`coverage gate skipped: ${indexes.length} namespaces (it needs ${GATE_NAMESPACES})`);
  } else {
    const short = tally.shortfalls(MIN_PER_SIDE);
    assert.equal(
      short.length, 0,
      `seed ${seed}: fewer than ${MIN_PER_SIDE} matches or non-matches for ${short.join('; ')}\n${tally.table()}`,
    );
  }
});
