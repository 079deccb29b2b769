// The SDK's Client against a real `vexil serve`: its local answers equal the server's
// (POST /evaluate/v1/batch) on thousands of random requests, a 304 keeps its state, and a flag
// file change arrives through the push stream.
//
//   VEXIL_SEED=<int>       replay a run (the seed is printed, and named in every failure)
//   VEXIL_REQUESTS=<n>     random requests per run (default 4000)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '../src/index.node.js';
import { differences } from './support/compare.mjs';
import { normalizeVexil } from './support/engines.mjs';
import { randomRequests } from './support/example-requests.mjs';
import { Rng, runSeed } from './support/random.mjs';
import { FAST_BACKOFF, countingFetch, darkModeDefaultEntity, nextEvent, toggleDarkMode } from './support/sdk.mjs';
import { postJson, startServer, waitForNewRevision, namespaceStatus } from './support/server.mjs';

const NAMESPACE = 'default';
const REQUESTS = Number(process.env.VEXIL_REQUESTS || 4000);
const BATCH_SIZE = 1000;

let server;
let client;
let counter;

before(async () => {
  server = await startServer();
  counter = countingFetch();
  client = await Client.start({ url: server.url, namespace: NAMESPACE, fetch: counter.fetch, backoff: FAST_BACKOFF });
});

after(async () => {
  client?.close();
  await server?.stop();
});

/** One request through the client's single-flag API, in the batch item shape. */
function clientAnswer(request) {
  const flag = client.getFlag(request.flagKey);
  if (!flag) {
    assert.throws(() => client.evaluateVariant(request), { code: 'FLAG_NOT_FOUND' });
    assert.throws(() => client.evaluateBoolean(request), { code: 'FLAG_NOT_FOUND' });
    return { type: 'ERROR_EVALUATION_RESPONSE_TYPE', errorResponse: { flagKey: request.flagKey, namespaceKey: NAMESPACE, reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' } };
  }
  if (flag.type === 'VARIANT_FLAG_TYPE') {
    assert.throws(() => client.evaluateBoolean(request), { code: 'TYPE_MISMATCH' });
    return { type: 'VARIANT_EVALUATION_RESPONSE_TYPE', variantResponse: client.evaluateVariant(request) };
  }
  assert.throws(() => client.evaluateVariant(request), { code: 'TYPE_MISMATCH' });
  return { type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE', booleanResponse: client.evaluateBoolean(request) };
}

test('the client loaded the namespace the server publishes', async () => {
  const status = await namespaceStatus(server.url, NAMESPACE);
  // The client holds the compiled snapshot: its digest is the compiled one's.
  assert.equal(client.digest, status.compiledDigest);
  assert.notEqual(status.compiledDigest, status.revision);
  assert.equal(client.namespace, NAMESPACE);
  assert.deepEqual(client.listFlags().map((f) => f.key).sort(), ['dark-mode', 'free-shipping', 'holiday-banner', 'new-checkout', 'search-ranking']);
});

test('client answers equal the server\'s batch answers on random requests', async (t) => {
  const seed = runSeed();
  t.diagnostic(`seed ${seed} (replay with VEXIL_SEED=${seed}), ${REQUESTS} requests`);
  const requests = randomRequests(new Rng(seed), REQUESTS, NAMESPACE);
  const mismatches = [];
  let count = 0;
  for (let start = 0; start < requests.length; start += BATCH_SIZE) {
    const chunk = requests.slice(start, start + BATCH_SIZE);
    const { status, body } = await postJson(`${server.url}/evaluate/v1/batch`, { requests: chunk });
    assert.equal(status, 200, JSON.stringify(body).slice(0, 300));
    const expected = body.responses.map(normalizeVexil);
    const single = chunk.map((request) => normalizeVexil(clientAnswer(request)));
    const batch = client.evaluateBatch(chunk).responses.map(normalizeVexil);
    chunk.forEach((request, i) => {
      for (const [how, answer] of [['single', single[i]], ['batch', batch[i]]]) {
        const diffs = differences(expected[i], answer);
        if (!diffs.length) continue;
        count++;
        if (mismatches.length < 8) {
          mismatches.push(`#${start + i} (${how}) ${diffs.join(', ')}\n  request: ${JSON.stringify(request)}\n  server: ${JSON.stringify(expected[i])}\n  client: ${JSON.stringify(answer)}`);
        }
      }
    });
  }
  assert.equal(count, 0, `seed ${seed} (replay with VEXIL_SEED=${seed}): ${count} answers differ:\n${mismatches.join('\n')}`);
});

test('refresh() with nothing new gets a 304 and keeps the snapshot', async () => {
  const digest = client.digest;
  const before = counter.snapshotCalls().length;
  let changes = 0;
  const unsubscribe = client.on('change', () => changes++);
  assert.equal(await client.refresh(), false);
  assert.equal(await client.refresh(), false);
  unsubscribe();
  const calls = counter.snapshotCalls().slice(before);
  assert.deepEqual(calls.map((c) => [c.status, c.ifNoneMatch]), [[304, `"${digest}"`], [304, `"${digest}"`]]);
  assert.equal(client.digest, digest);
  assert.equal(changes, 0);
  assert.equal(client.listFlags().length, 5);
});

test('a flag file change is pushed: change event, new answers, one fetch', async () => {
  const entityId = darkModeDefaultEntity(client);
  const request = { flagKey: 'dark-mode', entityId, context: {} };
  assert.equal(client.evaluateBoolean(request).enabled, false);
  const oldDigest = client.digest;
  const oldRevision = (await namespaceStatus(server.url, NAMESPACE)).revision;
  const fetchesBefore = counter.snapshotCalls().length;

  const changed = nextEvent(client, 'change', 8000);
  toggleDarkMode(server.dir);
  const event = await changed;
  const status = await waitForNewRevision(server.url, NAMESPACE, oldRevision);

  assert.equal(event.previousDigest, oldDigest);
  assert.equal(event.digest, status.compiledDigest);
  assert.equal(client.digest, status.compiledDigest);
  assert.equal(client.evaluateBoolean(request).enabled, true);
  assert.equal(client.stale, false);
  const fetched = counter.snapshotCalls().slice(fetchesBefore);
  assert.deepEqual(fetched.map((c) => c.status), [200], 'one snapshot fetch per pushed revision');
  const streams = counter.calls.filter((c) => c.url.endsWith('/stream'));
  assert.equal(streams.length, 1, 'the stream stayed connected');
});
