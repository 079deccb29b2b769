// Flipt's own client SDK (@flipt-io/flipt-client-js 0.5.1) against a running `vexil serve`:
// it downloads Vexil's snapshot over HTTP with its own fetcher and evaluates locally; its answers
// must equal Vexil's server-side answers (POST /evaluate/v1/batch) on thousands of random
// requests, and its ETag refresh must see a flag file change exactly once.
//
//   VEXIL_SEED=<int>       replay a run (the seed is printed, and named in every failure)
//   VEXIL_REQUESTS=<n>     random requests per run (default 4000)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { FliptClient, ErrorStrategy } from '@flipt-io/flipt-client-js';

import { Rng, runSeed } from './support/random.mjs';
import { normalizeFlipt, normalizeVexil } from './support/engines.mjs';
import { differences } from './support/compare.mjs';
import { randomRequests } from './support/example-requests.mjs';
import { editFlagFile, postJson, startServer } from './support/server.mjs';

const NAMESPACE = 'default';
const REQUESTS = Number(process.env.VEXIL_REQUESTS || 4000);
const BATCH_SIZE = 500;
const MAX_REPORTED = 10;

// Every (reason, value) each example flag can give, per Flipt's reading of examples/flags.
const EXPECTED_OUTCOMES = {
  'dark-mode': ['DEFAULT_EVALUATION_REASON false', 'MATCH_EVALUATION_REASON true'],
  'free-shipping': ['DEFAULT_EVALUATION_REASON true', 'MATCH_EVALUATION_REASON false', 'MATCH_EVALUATION_REASON true'],
  'holiday-banner': ['FLAG_DISABLED_EVALUATION_REASON none'],
  'new-checkout': ['DEFAULT_EVALUATION_REASON classic', 'MATCH_EVALUATION_REASON classic',
    'MATCH_EVALUATION_REASON one-page', 'MATCH_EVALUATION_REASON wizard'],
  'no-such-flag': ['NOT_FOUND_ERROR_EVALUATION_REASON'],
  'search-ranking': ['MATCH_EVALUATION_REASON', 'MATCH_EVALUATION_REASON bm25', 'MATCH_EVALUATION_REASON learned',
    'UNKNOWN_EVALUATION_REASON'],
};
// `everyone` only backs holiday-banner, which is disabled.
const EXPECTED_SEGMENTS = ['beta-testers', 'big-basket', 'blocked-accounts', 'early-adopters', 'europe',
  'mobile-app', 'paying-customers', 'staff'];

let server;
let client;

/** FliptClient.init without a fetcher: the client fetches Vexil's snapshot path itself. */
async function initClient(url) {
  // The wasm loader warns about a deprecated init signature on every start; it is not ours.
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await FliptClient.init({ url, namespace: NAMESPACE, errorStrategy: ErrorStrategy.Fail, updateInterval: 0 });
  } finally {
    console.warn = warn;
  }
}

/** Vexil's answers to `requests` through its HTTP batch endpoint, in Flipt's HTTP shape. */
async function vexilBatch(requests) {
  const { status, body } = await postJson(`${server.url}/evaluate/v1/batch`, { requests });
  assert.equal(status, 200, `POST /evaluate/v1/batch answered ${status}: ${JSON.stringify(body).slice(0, 500)}`);
  assert.ok(Array.isArray(body.responses), `batch answer has no responses array: ${JSON.stringify(body).slice(0, 500)}`);
  assert.equal(body.responses.length, requests.length, 'batch answered a different number of requests');
  return body.responses;
}

/** Flipt client's answer, normalized, for one request. */
function fliptAnswer(request) {
  return normalizeFlipt(client.evaluateBatch([request]).responses[0]);
}

before(async () => {
  server = await startServer();
  client = await initClient(server.url);
});

after(async () => {
  client?.close();
  await server?.stop();
});

test('Flipt client took the whole snapshot from Vexil', () => {
  const flags = client.listFlags().map((f) => f.key).sort();
  assert.deepEqual(flags, ['dark-mode', 'free-shipping', 'holiday-banner', 'new-checkout', 'search-ranking']);
});

test('Flipt client answers equal Vexil HTTP batch answers on random requests', async (t) => {
  const seed = runSeed();
  t.diagnostic(`seed ${seed} (replay with VEXIL_SEED=${seed}), ${REQUESTS} requests`);
  const requests = randomRequests(new Rng(seed), REQUESTS, NAMESPACE);

  const mismatches = [];
  let mismatchCount = 0;
  const seen = { segments: new Set(), outcomes: new Map() };
  for (let start = 0; start < requests.length; start += BATCH_SIZE) {
    const chunk = requests.slice(start, start + BATCH_SIZE);
    const flipt = client.evaluateBatch(chunk).responses.map(normalizeFlipt);
    const vexil = (await vexilBatch(chunk)).map(normalizeVexil);
    assert.equal(flipt.length, chunk.length, 'Flipt client answered a different number of requests');

    chunk.forEach((request, i) => {
      const answer = flipt[i];
      (answer.segmentKeys ?? []).forEach((key) => seen.segments.add(key));
      const flag = request.flagKey.startsWith('no-such-flag-') ? 'no-such-flag' : request.flagKey;
      if (!seen.outcomes.has(flag)) seen.outcomes.set(flag, new Set());
      seen.outcomes.get(flag).add(`${answer.reason} ${answer.variantKey ?? answer.enabled ?? ''}`.trim());

      const diffs = differences(vexil[i], answer);
      if (diffs.length) mismatchCount++;
      if (diffs.length && mismatches.length < MAX_REPORTED) {
        mismatches.push([
          `request #${start + i}: fields differ: ${diffs.join(', ')}`,
          `  request: ${JSON.stringify(request)}`,
          `  vexil:   ${JSON.stringify(vexil[i])}`,
          `  flipt:   ${JSON.stringify(answer)}`,
        ].join('\n'));
      }
    });
  }

  assert.equal(mismatchCount, 0,
    `seed ${seed} (replay with VEXIL_SEED=${seed}): ${mismatchCount} of ${requests.length} answers differ; the first:\n${mismatches.join('\n')}`);

  // The comparison means something only if the requests reached every rule, split and rollout:
  // each flag must have shown every outcome it has.
  const outcomes = Object.fromEntries([...seen.outcomes].map(([flag, set]) => [flag, [...set].sort()]));
  assert.deepEqual(outcomes, EXPECTED_OUTCOMES, `seed ${seed}: not every outcome was reached`);
  assert.deepEqual([...seen.segments].sort(), EXPECTED_SEGMENTS, `seed ${seed}: segments matched`);
});

test('a flag file change reaches the Flipt client once, through the ETag', async () => {
  // An entity that neither is staff nor falls in dark-mode's 50% threshold gets the flag's
  // own `enabled`, so flipping `enabled` in the file must flip its answer.
  const request = { namespaceKey: NAMESPACE, flagKey: 'dark-mode', context: {} };
  let entityId;
  for (let i = 0; i < 200 && !entityId; i++) {
    const answer = fliptAnswer({ ...request, entityId: `shopper-${i}` });
    if (answer.reason === 'DEFAULT_EVALUATION_REASON') entityId = `shopper-${i}`;
  }
  assert.ok(entityId, 'no shopper outside dark-mode\'s threshold among 200');
  const probe = { ...request, entityId };
  assert.deepEqual(fliptAnswer(probe), {
    type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE', flagKey: 'dark-mode', enabled: false, reason: 'DEFAULT_EVALUATION_REASON', segmentKeys: [],
  });

  // Nothing changed yet: the client's If-None-Match must come back 304 with the same ETag.
  assert.equal(await client.refresh(), false, 'refresh() before any change reported a new snapshot');

  const status = await editFlagFile(server, 'default/features.yml', NAMESPACE, (text) => {
    // The `enabled: false` line that belongs to dark-mode, not another flag's.
    const start = text.indexOf('- key: dark-mode');
    const at = text.indexOf('enabled: false', start);
    assert.ok(start >= 0 && at > start, 'dark-mode\'s enabled line not found in default/features.yml');
    return `${text.slice(0, at)}enabled: true${text.slice(at + 'enabled: false'.length)}`;
  });
  assert.deepEqual(status.errors, [], `the edited file did not load: ${JSON.stringify(status.errors)}`);

  assert.equal(await client.refresh(), true, 'refresh() after the change did not take the new snapshot');
  assert.equal(await client.refresh(), false, 'refresh() right after taking the new snapshot took it again');

  const changed = fliptAnswer(probe);
  assert.equal(changed.enabled, true, `dark-mode for ${entityId} after enabling it: ${JSON.stringify(changed)}`);
  assert.equal(changed.reason, 'DEFAULT_EVALUATION_REASON');

  // And the server agrees with the client on the new revision.
  const [vexil] = (await vexilBatch([probe])).map(normalizeVexil);
  assert.deepEqual(differences(vexil, changed), [], `vexil ${JSON.stringify(vexil)} vs flipt ${JSON.stringify(changed)}`);
});
