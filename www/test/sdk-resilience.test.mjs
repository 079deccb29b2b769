// The Client when things go wrong: the server dies and comes back on the same port, a server
// sends a malformed snapshot, no server exists yet (a seeded start), and closing lets Node exit.
// Through all of it the client keeps answering from its last good snapshot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Client, Engine } from '../src/index.node.js';
import {
  FAST_BACKOFF, compiledSnapshot, copyExampleFlags, countingFetch, darkModeDefaultEntity, eventually, freePort, nextEvent,
  snapshotText, startVexilAt, toggleDarkMode,
} from './support/sdk.mjs';

const NEW_CHECKOUT = { flagKey: 'new-checkout', entityId: 'ann@vexil.dev', context: { role: 'admin' } };

test('server killed: the client answers from its last snapshot, reports errors, recovers on restart', async (t) => {
  const dir = copyExampleFlags();
  const port = await freePort();
  let server = await startVexilAt(dir, port);
  const counter = countingFetch();
  const client = await Client.start({ url: server.url, fetch: counter.fetch, backoff: FAST_BACKOFF });
  t.after(async () => {
    client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const answer = client.evaluateVariant(NEW_CHECKOUT);
  const entityId = darkModeDefaultEntity(client);
  const digest = client.digest;

  const errors = [];
  client.on('error', (error) => errors.push(error));
  await server.stop();
  await eventually(() => errors.length >= 3, { what: 'three errors after the server died' });
  assert.ok(errors.every((e) => ['STREAM', 'NETWORK'].includes(e.code)), errors.map((e) => `${e.code} ${e.message}`).join('\n'));
  assert.equal(client.stale, true);
  assert.deepEqual(client.evaluateVariant(NEW_CHECKOUT), answer);
  assert.equal(client.digest, digest);

  // The files change while the server is down; the new server publishes them at once.
  toggleDarkMode(dir);
  const recovered = nextEvent(client, 'recover', 8000);
  const changed = nextEvent(client, 'change', 8000);
  server = await startVexilAt(dir, port);
  await recovered;
  const change = await changed;
  assert.equal(change.previousDigest, digest);
  assert.equal(client.stale, false);
  assert.equal(client.evaluateBoolean({ flagKey: 'dark-mode', entityId, context: {} }).enabled, true);
  // Reconnected streams carried the revision seen last.
  const streams = counter.calls.filter((c) => c.url.endsWith('/stream'));
  assert.ok(streams.length >= 2, `${streams.length} stream connections`);
});

test('a malformed snapshot is an error and the old snapshot stays', async (t) => {
  const dir = copyExampleFlags();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = compiledSnapshot(dir);
  const bodies = [good, good.slice(0, 40), '{"namespace":{"key":"default"},"flags":[]}', 'null', Buffer.from('VXLC\x07')];
  let served = 0;
  const http = createServer((request, response) => {
    if (!request.url.includes('/evaluation/snapshot/')) {
      response.writeHead(404).end();
      return;
    }
    const body = bodies[Math.min(served, bodies.length - 1)];
    response.writeHead(200, { 'content-type': 'application/vnd.vexil.snapshot', etag: `"body-${served++}"` }).end(body);
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${http.address().port}`;
  // No stream there (404): the client polls instead.
  const client = await Client.start({ url, stream: false, pollIntervalMs: 60_000 });
  t.after(() => {
    client.close();
    http.close();
  });
  const answer = client.evaluateVariant(NEW_CHECKOUT);
  const digest = client.digest;
  for (let i = 1; i < bodies.length; i++) {
    const reported = nextEvent(client, 'error');
    await assert.rejects(client.refresh(), { code: 'BAD_SNAPSHOT' });
    assert.equal((await reported).code, 'BAD_SNAPSHOT');
    assert.equal(client.digest, digest);
    assert.deepEqual(client.evaluateVariant(NEW_CHECKOUT), answer);
    assert.equal(client.stale, true);
  }
});

test('the engine keeps its snapshot when a load fails', () => {
  const dir = copyExampleFlags();
  const engine = new Engine();
  try {
    const loaded = engine.load(compiledSnapshot(dir));
    assert.equal(loaded.flags, 5);
    const before = engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context);
    for (const bad of ['', 'not json', snapshotText(dir), new Uint8Array(), new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]), null, 42]) {
      assert.throws(() => engine.load(bad), { code: 'BAD_SNAPSHOT' }, `load(${String(bad).slice(0, 30)})`);
      assert.equal(engine.digest, loaded.digest);
      assert.deepEqual(engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context), before);
    }
  } finally {
    engine.free();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seeded offline: answers before any server exists, then syncs when one appears', async (t) => {
  const dir = copyExampleFlags();
  const seed = compiledSnapshot(dir);
  const port = await freePort();
  const errors = [];
  const client = await Client.start({ url: `http://127.0.0.1:${port}`, seed, backoff: FAST_BACKOFF });
  let server;
  t.after(async () => {
    client.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  client.on('error', (error) => errors.push(error));
  const entityId = darkModeDefaultEntity(client);
  assert.equal(client.evaluateBoolean({ flagKey: 'dark-mode', entityId }).enabled, false);
  assert.equal(client.evaluateVariant(NEW_CHECKOUT).variantKey, 'one-page');
  await eventually(() => errors.length >= 1, { what: 'an error while no server listens' });

  toggleDarkMode(dir);
  const changed = nextEvent(client, 'change', 8000);
  server = await startVexilAt(dir, port);
  await changed;
  assert.equal(client.evaluateBoolean({ flagKey: 'dark-mode', entityId }).enabled, true);
});

test('a client without url answers from its seed alone', async () => {
  const dir = copyExampleFlags();
  try {
    const client = await Client.start({ seed: compiledSnapshot(dir).buffer });
    assert.equal(client.evaluateVariant(NEW_CHECKOUT).variantKey, 'one-page');
    assert.equal(await client.refresh(), false);
    client.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close() leaves nothing behind: Node exits while the server still runs', async (t) => {
  const dir = copyExampleFlags();
  const server = await startVexilAt(dir, await freePort());
  t.after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const sdk = fileURLToPath(new URL('../src/index.node.js', import.meta.url));
  const script = `
    const { Client } = await import(${JSON.stringify(sdk)});
    const client = await Client.start({ url: ${JSON.stringify(server.url)} });
    await new Promise((r) => setTimeout(r, 200)); // the stream is open by now
    client.close();
    console.log(client.evaluateBoolean({ flagKey: 'dark-mode', entityId: 'x' }).reason);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const started = Date.now();
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node did not exit within 5 s of close(): ${output}`));
    }, 5000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  assert.equal(code, 0, output);
  assert.match(output, /EVALUATION_REASON/);
  assert.ok(Date.now() - started < 5000);
});
