// Signed compiled snapshots in the SDK (docs/compiled-snapshot.md, "Signed snapshots"): with
// `publicKeys`, the Engine and the Client load only what one of the keys signed for their
// environment, never a document issued before the one they hold, and keep the last good one on
// every refusal. Envelopes are made two ways: by `vexil` (serve and snapshot --signing-key) and
// here, with WebCrypto and the test's own reading of the format, to choose their issued-at.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { Client, Engine } from '../src/index.node.js';
import { VEXIL_BIN, startServer } from './support/server.mjs';
import { compiledSnapshot, copyExampleFlags, nextEvent } from './support/sdk.mjs';

const NEW_CHECKOUT = { flagKey: 'new-checkout', entityId: 'ann@vexil.dev', context: { role: 'admin' } };
const keyDir = mkdtempSync(join(tmpdir(), 'vexil-signed-'));
const flagsDir = copyExampleFlags();
process.on('exit', () => {
  rmSync(keyDir, { recursive: true, force: true });
  rmSync(flagsDir, { recursive: true, force: true });
});

/** `vexil keygen`: the key file, its public key (base64url) and key id (hex). */
function keygen(name) {
  const file = join(keyDir, `${name}.pem`);
  const printed = execFileSync(VEXIL_BIN, ['keygen', '--out', file], { encoding: 'utf8' });
  const publicKey = /public key:\s+(\S+)/.exec(printed)[1];
  const keyId = Buffer.from(/key id:\s+(\S+)/.exec(printed)[1], 'base64url').toString('hex');
  return { file, publicKey, keyId };
}

const first = keygen('first');
const second = keygen('second');
const DOCUMENT = compiledSnapshot(flagsDir);
const MOBILE = compiledSnapshot(flagsDir, 'mobile');

/** A signed envelope around `document`, made here: the layout read from the format's docs. */
async function seal(document, key, { issuedAt, environment = 'default' }) {
  const der = Buffer.from(readFileSync(key.file, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
  const privateKey = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  const head = Buffer.alloc(8 + 8);
  Buffer.from(key.keyId, 'hex').copy(head, 0);
  head.writeBigUInt64LE(BigInt(issuedAt), 8);
  const environmentBytes = Buffer.from(environment);
  const environmentField = Buffer.concat([Buffer.from([environmentBytes.length]), environmentBytes]);
  const message = Buffer.concat([Buffer.from('vexil signed snapshot v1\n'), head, environmentField, document]);
  const signature = Buffer.from(await crypto.subtle.sign('Ed25519', privateKey, message));
  return new Uint8Array(Buffer.concat([Buffer.from('VXLS\x01'), head, environmentField, signature, document]));
}

test('a snapshot signed by vexil loads with its key; with two keys (a rotation), by either', async () => {
  const byFirst = compiledSnapshot(flagsDir, 'default', ['--signing-key', first.file]);
  const bySecond = compiledSnapshot(flagsDir, 'default', ['--signing-key', second.file]);
  const engine = new Engine();
  const loaded = await engine.load(byFirst, { publicKeys: [first.publicKey] });
  assert.equal(loaded.namespace, 'default');
  assert.equal(engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context).variantKey, 'one-page');
  const rotation = [second.publicKey, Buffer.from(first.publicKey, 'base64url')];
  await engine.load(bySecond, { publicKeys: rotation });
  await engine.load(byFirst, { publicKeys: rotation });
  // Compressed, as a seed file may be kept.
  await engine.load(gzipSync(bySecond), { publicKeys: rotation });
  engine.free();
});

test('tampered, unsigned, unknown-key, other-environment and older snapshots are refused and lose nothing', async () => {
  const engine = new Engine();
  const publicKeys = [first.publicKey];
  const good = await seal(DOCUMENT, first, { issuedAt: 2_000_000 });
  await engine.load(good, { publicKeys });
  const answer = engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context);
  const digest = engine.digest;
  const tampered = good.slice();
  tampered[tampered.length - 20] ^= 1;
  const cases = [
    ['a changed byte', tampered, /does not hold/],
    ['a changed issued-at', (() => { const b = good.slice(); b[13] ^= 1; return b; })(), /does not hold/],
    ['no signature', DOCUMENT, /not signed/],
    ['an unknown key', await seal(DOCUMENT, second, { issuedAt: 3_000_000 }), new RegExp(`key ${second.keyId}, which is not among publicKeys`)],
    ['another environment', await seal(DOCUMENT, first, { issuedAt: 3_000_000, environment: 'staging' }), /signed for environment "staging", not "default"/],
    ['an older one (a replay)', await seal(MOBILE, first, { issuedAt: 1_999_999 }), /issued at 1999999, before the one loaded \(2000000\)/],
    ['a cut envelope', good.slice(0, 40), /cut short/],
    ['JSON text', new TextEncoder().encode('{"namespace":{"key":"default"},"flags":[]}'), /not a signed compiled snapshot/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(engine.load(bytes, { publicKeys, environment: 'default' }), (error) => error.code === 'BAD_SIGNATURE' && message.test(error.message), what);
    assert.equal(engine.digest, digest, what);
    assert.deepEqual(engine.evaluateVariant(NEW_CHECKOUT.flagKey, NEW_CHECKOUT.entityId, NEW_CHECKOUT.context), answer, what);
  }
  // The same issued-at again, and a later one, are taken.
  await engine.load(good, { publicKeys, environment: 'default' });
  await engine.load(await seal(MOBILE, first, { issuedAt: 2_000_001 }), { publicKeys });
  assert.equal(engine.namespace, 'mobile');
  // Keys that are not Ed25519 public keys are the caller's mistake.
  await assert.rejects(engine.load(good, { publicKeys: ['not a key'] }), TypeError);
  await assert.rejects(engine.load(good, { publicKeys: [] }), TypeError);
  engine.free();
});

test('a client with publicKeys follows a signing server, and refuses one that signs with another key', async (t) => {
  const server = await startServer({ extraArgs: ['--signing-key', first.file] });
  t.after(() => server.stop());
  const client = await Client.start({ url: server.url, publicKeys: [second.publicKey, first.publicKey], stream: false });
  assert.equal(client.evaluateVariant(NEW_CHECKOUT).variantKey, 'one-page');
  client.close();
  await assert.rejects(Client.start({ url: server.url, publicKeys: [second.publicKey], stream: false }), { code: 'BAD_SIGNATURE' });
  // A seed must be signed too.
  await assert.rejects(Client.start({ seed: DOCUMENT, publicKeys: [first.publicKey] }), { code: 'BAD_SIGNATURE' });
});

test('a client keeps its last good snapshot when a cache replays an older one or serves a tampered one', async (t) => {
  const newer = await seal(DOCUMENT, first, { issuedAt: 5_000_000 });
  const older = await seal(MOBILE, first, { issuedAt: 4_000_000 });
  const tampered = newer.slice();
  tampered[tampered.length - 1] ^= 0x40;
  const bodies = [newer, older, tampered];
  let served = 0;
  const http = createServer((request, response) => {
    if (!request.url.includes('/snapshot/')) return response.writeHead(404).end();
    const body = bodies[Math.min(served, bodies.length - 1)];
    response.writeHead(200, { 'content-type': 'application/vnd.vexil.snapshot', etag: `"body-${served++}"` }).end(body);
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = await Client.start({ url: `http://127.0.0.1:${http.address().port}`, publicKeys: [first.publicKey], stream: false, pollIntervalMs: 60_000 });
  t.after(() => {
    client.close();
    http.close();
  });
  const answer = client.evaluateVariant(NEW_CHECKOUT);
  const digest = client.digest;
  for (const message of [/before the one loaded/, /does not hold/]) {
    const reported = nextEvent(client, 'error');
    await assert.rejects(client.refresh(), (error) => error.code === 'BAD_SIGNATURE' && message.test(error.message));
    assert.equal((await reported).code, 'BAD_SIGNATURE');
    assert.equal(client.digest, digest);
    assert.equal(client.namespace, 'default');
    assert.deepEqual(client.evaluateVariant(NEW_CHECKOUT), answer);
  }
});

test('a runtime without WebCrypto refuses signed loads with SIGNATURE_UNSUPPORTED', async () => {
  const script = `
    delete globalThis.crypto;
    const { Engine } = await import(${JSON.stringify(new URL('../src/index.node.js', import.meta.url).href)});
    const engine = new Engine();
    const bytes = new Uint8Array(Buffer.from(process.argv[1], 'base64'));
    await engine.load(bytes, { publicKeys: [process.argv[2]] }).then(() => console.log('loaded'), (error) => console.log(error.code));
  `;
  const signed = compiledSnapshot(flagsDir, 'default', ['--signing-key', first.file]);
  const output = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, Buffer.from(signed).toString('base64'), first.publicKey], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
  assert.equal(output, 'SIGNATURE_UNSUPPORTED');
});

// Not a test of the SDK: the layout the test seals with must be the one vexil writes, or the
// checks above prove less.
test('envelopes made here and by vexil have the same layout', async () => {
  const byVexil = compiledSnapshot(flagsDir, 'default', ['--signing-key', first.file]);
  const issuedAt = Number(Buffer.from(byVexil).readBigUInt64LE(13));
  const made = await seal(DOCUMENT, first, { issuedAt });
  assert.deepEqual(Buffer.from(made), Buffer.from(byVexil));
});
