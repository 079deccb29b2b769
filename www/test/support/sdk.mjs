// Helpers for the SDK tests (sdk-*.test.mjs): a vexil on a chosen port and directory (so a test
// can kill it and start another at the same address), a fetch that counts, and event waits.

import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { VEXIL_BIN } from './server.mjs';

const EXAMPLE_FLAGS = fileURLToPath(new URL('../../../examples/flags', import.meta.url));

/** Test-speed retry timing for clients. */
export const FAST_BACKOFF = { initialMs: 40, maxMs: 300 };

/** A fresh temp copy of examples/flags. */
export function copyExampleFlags() {
  const dir = mkdtempSync(join(tmpdir(), 'vexil-sdk-'));
  cpSync(EXAMPLE_FLAGS, dir, { recursive: true });
  return dir;
}

/** `vexil snapshot` of a flag directory: Flipt's JSON text. */
export function snapshotText(dir, namespace = 'default') {
  return execFileSync(VEXIL_BIN, ['snapshot', '--flags', dir, '--namespace', namespace], { encoding: 'utf8' });
}

/** `vexil snapshot --format compiled` of a flag directory: the bytes a client seeds from. */
export function compiledSnapshot(dir, namespace = 'default', extra = []) {
  const args = ['snapshot', '--flags', dir, '--namespace', namespace, '--format', 'compiled', ...extra];
  return new Uint8Array(execFileSync(VEXIL_BIN, args));
}

/** Flipt's JSON snapshot (an object) compiled by `vexil snapshot --from-snapshot`. */
export function compileSnapshot(snapshot, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'vexil-compile-'));
  try {
    const file = join(dir, 'snapshot.json');
    writeFileSync(file, JSON.stringify(snapshot));
    const args = ['snapshot', '--from-snapshot', file, '--format', 'compiled', ...extra];
    return new Uint8Array(execFileSync(VEXIL_BIN, args, { maxBuffer: 1 << 28 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** `vexil serve --flags dir --listen 127.0.0.1:port`; resolves `{url, stop()}` once listening. */
export async function startVexilAt(dir, port) {
  const child = spawn(VEXIL_BIN, ['serve', '--flags', dir, '--listen', `127.0.0.1:${port}`, '--debounce-ms', '50'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'warn', VEXIL_LOG: 'warn' },
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vexil did not listen within 15 s:\n${stderr}`)), 15_000);
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      match ? resolve(match[1]) : reject(new Error(`unexpected first line ${line}:\n${stderr}`));
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`vexil exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { url, stop };
}

/** A fetch that records `{url, status, ifNoneMatch}` for every call (status 0 when it threw). */
export function countingFetch() {
  const calls = [];
  const fetchFn = async (input, init = {}) => {
    const call = { url: String(input), ifNoneMatch: init.headers?.['if-none-match'] ?? null, status: 0 };
    calls.push(call);
    const response = await fetch(input, init);
    call.status = response.status;
    return response;
  };
  const snapshotCalls = () => calls.filter((c) => c.url.includes('/evaluation/snapshot/'));
  return { fetch: fetchFn, calls, snapshotCalls };
}

/** Resolves with the next `name` event of the client (rejects after `timeoutMs`). */
export function nextEvent(client, name, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = client.on(name, (payload) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(payload);
    });
  });
}

/** Polls `check()` until it returns a truthy value. */
export async function eventually(check, { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Flips dark-mode's `enabled` in default/features.yml of `dir` (false <-> true). */
export function toggleDarkMode(dir) {
  const file = join(dir, 'default/features.yml');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('- key: dark-mode');
  const match = /enabled: (true|false)/.exec(text.slice(start));
  if (start < 0 || !match) throw new Error('dark-mode\'s enabled line not found');
  const at = start + match.index;
  const flipped = match[1] === 'true' ? 'false' : 'true';
  writeFileSync(file, `${text.slice(0, at)}enabled: ${flipped}${text.slice(at + match[0].length)}`);
  return flipped === 'true';
}

/** An entity that dark-mode gives its flag-level `enabled` to (no rollout matches it). */
export function darkModeDefaultEntity(client) {
  for (let i = 0; i < 500; i++) {
    const entityId = `shopper-${i}`;
    if (client.evaluateBoolean({ flagKey: 'dark-mode', entityId, context: {} }).reason === 'DEFAULT_EVALUATION_REASON') return entityId;
  }
  throw new Error('no shopper outside dark-mode\'s rollouts among 500');
}
