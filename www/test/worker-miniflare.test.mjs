// The edge worker (www/worker/) in the real Workers runtime (Miniflare 4 runs workerd), talking
// to a real `vexil serve`: its answers must equal the server's own /evaluate/v1/batch on random
// requests, through both its GET and POST forms, and its snapshot cache must revalidate with the
// ETag, keep a snapshot within the TTL, and keep answering when vexil goes away.
//
//   VEXIL_SEED=<int>   replay a run (the seed is printed, and named in every failure)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

import { Rng, runSeed } from './support/random.mjs';
import { normalizeVexil } from './support/engines.mjs';
import { randomRequests } from './support/example-requests.mjs';
import { VEXIL_BIN, editFlagFile, namespaceStatus, postJson, startServer } from './support/server.mjs';

const WWW = fileURLToPath(new URL('..', import.meta.url));
const WORKER = fileURLToPath(new URL('../worker/worker.js', import.meta.url));
const BATCH_REQUESTS = 400;
const GET_REQUESTS = 60;
const TEST_TIMEOUT_MS = 60_000;
// A valid Ed25519 public key that signed nothing here (RFC 8032's first test key).
const OTHER_KEY = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';

let server;
let signedServer;
let unsignedServer;
let publicKey;
let mf;
const workers = {};

/** A port nothing listens on: a vexil that is down. */
async function closedPort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** One worker definition: the same script, its own bindings (and so its own cache). */
const worker = (name, bindings) => ({
  name,
  modules: true,
  scriptPath: WORKER,
  modulesRoot: WWW, // the worker imports ../pkg/
  modulesRules: [
    { type: 'ESModule', include: ['**/*.js'] },
    { type: 'CompiledWasm', include: ['**/*.wasm'] },
  ],
  compatibilityDate: '2025-01-01',
  bindings,
});

before(async () => {
  server = await startServer();
  const keyDir = mkdtempSync(join(tmpdir(), 'vexil-worker-key-'));
  const keyFile = join(keyDir, 'key.pem');
  publicKey = /public key:\s+(\S+)/.exec(execFileSync(VEXIL_BIN, ['keygen', '--out', keyFile], { encoding: 'utf8' }))[1];
  signedServer = await startServer({ extraArgs: ['--signing-key', keyFile] });
  // Its own unsigned server: the first one is stopped by a test below.
  unsignedServer = await startServer();
  rmSync(keyDir, { recursive: true, force: true });
  mf = new Miniflare({
    host: '127.0.0.1',
    workers: [
      // TTL 0: every request revalidates, so each one shows what vexil has now.
      worker('fresh', { VEXIL_URL: server.url, VEXIL_TTL_SECONDS: '0' }),
      // TTL of an hour: after its first fetch, this one never asks vexil again.
      worker('cached', { VEXIL_URL: server.url, VEXIL_TTL_SECONDS: '3600' }),
      worker('orphan', { VEXIL_URL: `http://127.0.0.1:${await closedPort()}` }),
      // Signed snapshots: checked with the server's key (a second one beside it, as in a
      // rotation); refused with a key that is not the server's, and unsigned ones refused.
      worker('signed', { VEXIL_URL: signedServer.url, VEXIL_TTL_SECONDS: '0', VEXIL_PUBLIC_KEYS: `${OTHER_KEY}, ${publicKey}` }),
      worker('wrongKey', { VEXIL_URL: signedServer.url, VEXIL_TTL_SECONDS: '0', VEXIL_PUBLIC_KEYS: OTHER_KEY }),
      worker('unsigned', { VEXIL_URL: unsignedServer.url, VEXIL_TTL_SECONDS: '0', VEXIL_PUBLIC_KEYS: publicKey }),
    ],
  });
  for (const name of ['fresh', 'cached', 'orphan', 'signed', 'wrongKey', 'unsigned']) workers[name] = await mf.getWorker(name);
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await mf?.dispose();
  await server?.stop();
  await signedServer?.stop();
  await unsignedServer?.stop();
});

/** Sends a request to one of the workers; returns `{status, headers, body}` (body parsed). */
async function call(name, path, init) {
  const response = await workers[name].fetch(`http://worker${path}`, init);
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the assertion on it will show the text.
  }
  return { status: response.status, headers: response.headers, body };
}

const post = (name, path, body) => call(name, path, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

async function serverBatch(requests) {
  const { status, body } = await postJson(`${server.url}/evaluate/v1/batch`, { requests });
  assert.equal(status, 200, `server batch answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.responses.map(normalizeVexil);
}

/** `GET /evaluate?flag=..&entity=..&k=v..` for one request. */
function queryOf({ flagKey, entityId, context }) {
  const params = new URLSearchParams({ flag: flagKey, entity: entityId });
  for (const [key, value] of Object.entries(context)) params.append(key, value);
  return `/evaluate?${params}`;
}

function firstMismatch(seed, requests, got, want) {
  const i = got.findIndex((answer, k) => JSON.stringify(answer) !== JSON.stringify(want[k]));
  if (i < 0) return null;
  return `seed ${seed} (replay with VEXIL_SEED=${seed}): request #${i} differs\n  request: ${JSON.stringify(requests[i])}\n`
    + `  worker: ${JSON.stringify(got[i])}\n  server: ${JSON.stringify(want[i])}`;
}

test('worker answers equal the server\'s batch answers on random requests', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const seed = runSeed();
  t.diagnostic(`seed ${seed} (replay with VEXIL_SEED=${seed}), ${BATCH_REQUESTS} batch + ${GET_REQUESTS} GET requests`);
  const requests = randomRequests(new Rng(seed), BATCH_REQUESTS);
  const want = await serverBatch(requests);

  const batch = await post('fresh', '/evaluate/v1/batch', { requestId: 'r-1', requests });
  assert.equal(batch.status, 200, JSON.stringify(batch.body).slice(0, 300));
  assert.equal(batch.body.requestId, 'r-1');
  assert.equal(batch.headers.get('x-vexil-revision'), (await namespaceStatus(server.url, 'default')).compiledDigest);
  const got = batch.body.responses.map(normalizeVexil);
  assert.equal(got.length, requests.length);
  assert.equal(firstMismatch(seed, requests, got, want), null);
  // The comparison means something only if the answers vary.
  const kinds = new Set(want.map((answer) => `${answer.type} ${answer.reason}`));
  assert.ok(kinds.size >= 6, `seed ${seed}: only ${[...kinds].join(', ')}`);

  // The query form, one HTTP request each, for the first GET_REQUESTS of the same requests;
  // ten at a time, so several requests revalidate the module-scope cache at once.
  const some = requests.slice(0, GET_REQUESTS);
  const viaGet = [];
  for (let start = 0; start < some.length; start += 10) {
    const answers = await Promise.all(some.slice(start, start + 10).map((request) => call('fresh', queryOf(request))));
    for (const { status, body } of answers) {
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.responses.length, 1);
      viaGet.push(normalizeVexil(body.responses[0]));
    }
  }
  assert.equal(firstMismatch(seed, some, viaGet, want.slice(0, GET_REQUESTS)), null);
});

test('GET /evaluate takes several flags, and context from the query', async () => {
  const { status, body } = await call('fresh', '/evaluate?flag=new-checkout&flag=dark-mode&flag=nope&entity=ann@vexil.dev&plan=pro');
  assert.equal(status, 200);
  const [checkout, dark, missing] = body.responses;
  assert.equal(checkout.variantResponse.variantKey, 'one-page');
  assert.equal(checkout.variantResponse.reason, 'MATCH_EVALUATION_REASON');
  assert.deepEqual(checkout.variantResponse.segmentKeys, ['staff']);
  assert.equal(checkout.variantResponse.variantAttachment, '{"layout":{"columns":2,"express":true},"steps":1}');
  assert.equal(dark.booleanResponse.enabled, true);
  assert.equal(missing.type, 'ERROR_EVALUATION_RESPONSE_TYPE');
  assert.equal(missing.errorResponse.reason, 'NOT_FOUND_ERROR_EVALUATION_REASON');

  const noFlag = await call('fresh', '/evaluate?entity=ann');
  assert.equal(noFlag.status, 400);
  assert.equal(noFlag.body.code, 3);
});

test('single variant and boolean evaluations answer as Flipt\'s API, errors included', async () => {
  const request = { flagKey: 'new-checkout', entityId: 'ann@vexil.dev', context: {}, requestId: 'abc' };
  const variant = await post('fresh', '/evaluate/v1/variant', request);
  assert.equal(variant.status, 200);
  assert.equal(variant.body.variantKey, 'one-page');
  assert.equal(variant.body.match, true);
  assert.equal(variant.body.requestId, 'abc');
  assert.match(variant.body.timestamp, /^\d{4}-\d\d-\d\dT/);
  const fromServer = await postJson(`${server.url}/evaluate/v1/variant`, request);
  for (const field of ['flagKey', 'match', 'reason', 'variantKey', 'variantAttachment', 'segmentKeys']) {
    assert.deepEqual(variant.body[field], fromServer.body[field], field);
  }

  const boolean = await post('fresh', '/evaluate/v1/boolean', { flagKey: 'free-shipping', entityId: 'x', context: { blocked: 'true' } });
  assert.equal(boolean.status, 200);
  assert.deepEqual([boolean.body.enabled, boolean.body.reason, boolean.body.segmentKeys], [false, 'MATCH_EVALUATION_REASON', ['blocked-accounts']]);

  const unknown = await post('fresh', '/evaluate/v1/variant', { flagKey: 'nope', entityId: 'x' });
  assert.deepEqual([unknown.status, unknown.body.code], [404, 5]);
  const wrongType = await post('fresh', '/evaluate/v1/boolean', { flagKey: 'new-checkout', entityId: 'x' });
  assert.deepEqual([wrongType.status, wrongType.body.code], [400, 3]);
  const badJson = await call('fresh', '/evaluate/v1/batch', { method: 'POST', body: '{"requests": [' });
  assert.deepEqual([badJson.status, badJson.body.code], [400, 3]);
  const otherNamespace = await post('fresh', '/evaluate/v1/batch', { requests: [{ namespaceKey: 'mobile', flagKey: 'new-checkout', entityId: 'x' }] });
  assert.equal(otherNamespace.body.responses[0].type, 'ERROR_EVALUATION_RESPONSE_TYPE');
  const noRoute = await call('fresh', '/nowhere');
  assert.equal(noRoute.status, 404);
});

test('the snapshot cache revalidates with the ETag, holds within the TTL, and survives vexil going away', { timeout: TEST_TIMEOUT_MS }, async () => {
  const probe = '/evaluate/v1/variant';
  // Not staff, not beta: only the file's holiday-banner matters here, which is disabled.
  const request = { flagKey: 'holiday-banner', entityId: 'shopper-1', context: {} };

  // Warm both workers, then ask again: TTL 0 revalidates (304), the long TTL does not ask.
  for (const name of ['fresh', 'cached']) await post(name, probe, request);
  const again = await post('fresh', probe, request);
  assert.equal(again.headers.get('x-vexil-cache'), 'revalidated');
  const before = await post('cached', probe, request);
  assert.equal(before.headers.get('x-vexil-cache'), 'hit');
  assert.deepEqual([before.body.variantKey, before.body.reason], ['none', 'FLAG_DISABLED_EVALUATION_REASON']);

  const status = await editFlagFile(server, 'default/features.yml', 'default', (text) => {
    const start = text.indexOf('- key: holiday-banner');
    const at = text.indexOf('enabled: false', start);
    assert.ok(start >= 0 && at > start, 'holiday-banner\'s enabled line not found');
    return `${text.slice(0, at)}enabled: true${text.slice(at + 'enabled: false'.length)}`;
  });
  assert.deepEqual(status.errors, []);

  const fresh = await post('fresh', probe, request);
  assert.equal(fresh.headers.get('x-vexil-cache'), 'fetched');
  assert.equal(fresh.headers.get('x-vexil-revision'), status.compiledDigest);
  assert.deepEqual([fresh.body.variantKey, fresh.body.reason, fresh.body.segmentKeys], ['snow', 'MATCH_EVALUATION_REASON', ['everyone']]);

  const cached = await post('cached', probe, request);
  assert.equal(cached.headers.get('x-vexil-cache'), 'hit');
  assert.equal(cached.headers.get('x-vexil-revision'), before.headers.get('x-vexil-revision'));
  assert.equal(cached.body.variantKey, 'none', 'within its TTL the worker answers from the snapshot it has');

  // vexil stops: the worker keeps answering from its last good snapshot.
  await server.stop();
  const stale = await post('fresh', probe, request);
  assert.equal(stale.status, 200);
  assert.equal(stale.headers.get('x-vexil-cache'), 'stale');
  assert.equal(stale.body.variantKey, 'snow');
});

test('a worker that never reached vexil answers 502 in Flipt\'s error shape', async () => {
  const { status, body } = await call('orphan', '/evaluate?flag=new-checkout&entity=x');
  assert.equal(status, 502);
  assert.equal(body.code, 14);
  assert.match(body.message, /snapshot unavailable/);
  const health = await call('orphan', '/health');
  assert.equal(health.status, 200);
});

test('a worker with public keys evaluates only snapshots signed by one of them', async () => {
  const request = { flagKey: 'new-checkout', entityId: 'ann@vexil.dev', context: {} };
  const signed = await post('signed', '/evaluate/v1/variant', request);
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  assert.equal(signed.body.variantKey, 'one-page');
  const status = await namespaceStatus(signedServer.url, 'default');
  assert.equal(signed.headers.get('x-vexil-revision'), status.compiledDigest);
  for (const name of ['wrongKey', 'unsigned']) {
    const refused = await post(name, '/evaluate/v1/variant', request);
    assert.equal(refused.status, 502, `${name}: ${JSON.stringify(refused.body)}`);
    assert.match(refused.body.message, /not among publicKeys|not signed/);
  }
});
