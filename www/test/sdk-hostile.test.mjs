// The Client against servers that misbehave on purpose: an endless snapshot, an endless stream
// line or event, a stream that ends at once, a stream that 404s for a while, a server that never
// answers, a snapshot of another namespace, and a wasm engine that traps. The client's memory and
// CPU stay bounded, it keeps its last good snapshot, and it keeps answering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { deflateSync, gzipSync } from 'node:zlib';

import { Client, Engine } from '../src/index.node.js';
import { initSync } from '../pkg/vexil_wasm.js';
import {
  FAST_BACKOFF, compileSnapshot, compiledSnapshot, copyExampleFlags, eventually, nextEvent, snapshotText,
} from './support/sdk.mjs';

const NEW_CHECKOUT = { flagKey: 'new-checkout', entityId: 'ann@vexil.dev', context: { role: 'admin' } };

const dir = copyExampleFlags();
const SNAPSHOT = compiledSnapshot(dir);
const MOBILE = compiledSnapshot(dir, 'mobile');
const SNAPSHOT_JSON = snapshotText(dir);
const MOBILE_FLAGS = JSON.parse(snapshotText(dir, 'mobile')).flags.length;
rmSync(dir, { recursive: true, force: true });

/** A server whose snapshot and stream routes are the given handlers (404 for anything else). */
async function serve(t, { snapshot, stream }) {
  const http = createServer((request, response) => {
    const handler = request.url.endsWith('/stream') ? stream : request.url.includes('/snapshot/') ? snapshot : null;
    if (handler) handler(request, response);
    else response.writeHead(404).end();
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    http.closeAllConnections();
    http.close();
  });
  return `http://127.0.0.1:${http.address().port}`;
}

const goodSnapshot = (body = SNAPSHOT) => (request, response) => {
  response.writeHead(200, { 'content-type': 'application/vnd.vexil.snapshot', etag: '"good"' }).end(body);
};

/** A response that writes `chunk` until the client goes away. */
function endless(response, head, chunk) {
  response.writeHead(200, head);
  const more = () => {
    while (response.write(chunk));
  };
  response.on('drain', more);
  response.on('close', () => response.off('drain', more));
  more();
}

test('an endless snapshot is given up at the size limit, before it reaches the engine', async (t) => {
  const url = await serve(t, {
    snapshot: (request, response) => endless(response, { 'content-type': 'application/vnd.vexil.snapshot' }, 'VXLC'.padEnd(65_536, ' ')),
    stream: (request, response) => response.writeHead(404).end(),
  });
  const before = process.memoryUsage().rss;
  const started = Date.now();
  await assert.rejects(Client.start({ url, stream: false }), { code: 'TOO_LARGE' });
  assert.ok(Date.now() - started < 10_000);
  // The default limit is 64 MiB: the body was not kept beyond it.
  assert.ok(process.memoryUsage().rss - before < 512 * 1024 * 1024, `${(process.memoryUsage().rss - before) >> 20} MiB more`);
  // A running client keeps its snapshot through one.
  const client = await Client.start({ url, seed: SNAPSHOT, stream: false, maxSnapshotBytes: 1 << 20 });
  t.after(() => client.close());
  const answer = client.evaluateVariant(NEW_CHECKOUT);
  await assert.rejects(client.refresh(), { code: 'TOO_LARGE' });
  assert.deepEqual(client.evaluateVariant(NEW_CHECKOUT), answer);
});

test('a snapshot of another namespace is refused and the last good one stays', async (t) => {
  const url = await serve(t, { snapshot: goodSnapshot(MOBILE), stream: (request, response) => response.writeHead(404).end() });
  const client = await Client.start({ url, seed: SNAPSHOT, stream: false });
  t.after(() => client.close());
  await assert.rejects(client.refresh(), (error) => error.code === 'BAD_SNAPSHOT' && /namespace "mobile", not "default"/.test(error.message));
  assert.equal(client.namespace, 'default');
  await assert.rejects(Client.start({ url, namespace: 'default', stream: false }), { code: 'BAD_SNAPSHOT' });
});

test('Client.start gives up on a server that never answers', async (t) => {
  const url = await serve(t, { snapshot: () => {}, stream: () => {} });
  const started = Date.now();
  await assert.rejects(Client.start({ url, timeoutMs: 300 }), { code: 'TIMEOUT' });
  const took = Date.now() - started;
  assert.ok(took >= 250 && took < 3000, `${took} ms`);
});

for (const [name, body, message] of [
  ['an endless line', 'x'.repeat(4096), /line is longer than/],
  ['an endless event', 'data: x\n', /event is longer than/],
]) {
  test(`${name} on the stream ends the stream, not the client's memory`, async (t) => {
    let streams = 0;
    const url = await serve(t, {
      snapshot: goodSnapshot(),
      stream: (request, response) => {
        streams++;
        endless(response, { 'content-type': 'text/event-stream' }, body);
      },
    });
    const client = await Client.start({ url, backoff: FAST_BACKOFF });
    t.after(() => client.close());
    const error = await nextEvent(client, 'error', 10_000);
    assert.equal(error.code, 'STREAM');
    assert.match(error.message, message);
    assert.ok(streams >= 1);
    assert.equal(client.evaluateVariant(NEW_CHECKOUT).flagKey, 'new-checkout');
  });
}

test('a stream that ends at once is retried with a growing backoff', async (t) => {
  const opened = [];
  const url = await serve(t, {
    snapshot: goodSnapshot(),
    stream: (request, response) => {
      opened.push(Date.now());
      response.writeHead(200, { 'content-type': 'text/event-stream' }).end();
    },
  });
  const client = await Client.start({ url, backoff: { initialMs: 20, maxMs: 400 } });
  t.after(() => client.close());
  await eventually(() => opened.length >= 7, { timeoutMs: 8000, what: 'seven stream connections' });
  const gaps = opened.slice(1).map((at, i) => at - opened[i]);
  // Before, the backoff started over at each connection: every gap was about 20 ms.
  assert.ok(gaps.at(-1) >= 190, `gaps ${gaps}`);
  assert.ok(gaps.at(-1) > 3 * gaps[0], `gaps ${gaps}`);
});

test('a 404 from the stream is retried, and the stream is used once it is back', async (t) => {
  let streams = 0;
  const url = await serve(t, {
    snapshot: goodSnapshot(),
    stream: (request, response) => {
      streams++;
      if (streams <= 2) {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":5}');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('id: next\ndata: {"type":"refetchEvaluation","etag":"next"}\n\n');
    },
  });
  let fetches = 0;
  const fetch = (input, init) => {
    if (String(input).includes('/snapshot/')) fetches++;
    return globalThis.fetch(input, init);
  };
  const client = await Client.start({ url, fetch, backoff: FAST_BACKOFF, pollIntervalMs: 60_000 });
  t.after(() => client.close());
  await eventually(() => streams >= 3, { timeoutMs: 5000, what: 'the stream tried again after 404s' });
  // The event names another revision: the client fetches at once, not at the next poll.
  await eventually(() => fetches >= 2, { timeoutMs: 5000, what: 'a fetch on the stream event' });
});

test('a wasm trap does not break the engine: a new instance takes over with the last good snapshot', async (t) => {
  const big = JSON.parse(SNAPSHOT_JSON);
  const template = big.flags[0];
  for (let i = 0; i < 4000; i++) big.flags.push({ ...template, key: `copy-${i}` });
  const bigBytes = compileSnapshot(big);
  let body = SNAPSHOT;
  const url = await serve(t, {
    snapshot: (request, response) => response.writeHead(200, { 'content-type': 'application/vnd.vexil.snapshot' }).end(body),
    stream: (request, response) => response.writeHead(404).end(),
  });
  const client = await Client.start({ url, stream: false });
  const other = new Engine();
  other.load(MOBILE);
  t.after(() => {
    client.close();
    other.free();
  });
  const answer = client.evaluateVariant(NEW_CHECKOUT);
  const digest = client.digest;
  // The instance's memory at its 4 GiB maximum: the next allocation that needs more traps, as
  // a snapshot too large for the memory left does in the field.
  const { memory } = initSync();
  memory.grow(65536 - memory.buffer.byteLength / 65536);
  body = bigBytes;
  const error = await client.refresh().catch((e) => e);
  assert.equal(error.code, 'BAD_SNAPSHOT', error.message);
  assert.match(error.message, /trapped .* restarted/);
  // Every engine of the realm answers again, from its last good snapshot, in a new instance.
  assert.notEqual(initSync().memory, memory);
  assert.equal(client.digest, digest);
  assert.deepEqual(client.evaluateVariant(NEW_CHECKOUT), answer);
  assert.equal(other.namespace, 'mobile');
  assert.equal(other.listFlags().length, MOBILE_FLAGS);
  // The new instance has room: the same snapshot loads now.
  assert.equal(await client.refresh(), true);
  assert.equal(client.listFlags().length, big.flags.length);
});

test('JSON, damaged and compressed bytes are refused by the engine, without a trap, and say why', () => {
  const engine = new Engine();
  try {
    engine.load(SNAPSHOT);
    const digest = engine.digest;
    const cut = SNAPSHOT.slice(0, SNAPSHOT.length - 3);
    const flipped = SNAPSHOT.slice();
    flipped[4] = 9; // the version byte
    for (const [bad, why] of [
      [SNAPSHOT_JSON, /JSON snapshot.*compiled/],
      [new TextEncoder().encode(SNAPSHOT_JSON), /JSON snapshot.*compiled/],
      [cut, /truncated|ends/],
      [flipped, /version 9/],
      [gzipSync(SNAPSHOT), /gzip data: load\(\) takes it uncompressed/],
      ['['.repeat(100_000), /JSON snapshot/],
    ]) {
      assert.throws(() => engine.load(bad), (error) => error.code === 'BAD_SNAPSHOT' && why.test(error.message)
        && !(error.cause instanceof WebAssembly.RuntimeError) && !/trapped/.test(error.message));
      assert.equal(engine.digest, digest);
    }
    assert.equal(engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context).flagKey, 'new-checkout');
  } finally {
    engine.free();
  }
});

test('a compressed seed is inflated within the size limit: a bomb is refused and loses nothing', async () => {
  const seeded = await Client.start({ seed: gzipSync(SNAPSHOT) });
  assert.equal(seeded.evaluateVariant(NEW_CHECKOUT).flagKey, 'new-checkout');
  seeded.close();
  const bomb = gzipSync(Buffer.alloc(4 << 20));
  assert.ok(bomb.length < 8192);
  await assert.rejects(Client.start({ seed: bomb, maxSnapshotBytes: 1 << 20 }), { code: 'TOO_LARGE' });
  await assert.rejects(Client.start({ seed: deflateSync(Buffer.from('not a snapshot')) }), { code: 'BAD_SNAPSHOT' });
});
