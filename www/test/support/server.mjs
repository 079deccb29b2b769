// Starting `vexil serve` on a private copy of examples/flags, for tests that talk HTTP to it.
//
//   VEXIL_BIN=<path>   the vexil binary (default ../target/debug/vexil, relative to www/)

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const VEXIL_BIN = process.env.VEXIL_BIN
  ? resolve(process.env.VEXIL_BIN)
  : fileURLToPath(new URL('../../../target/debug/vexil', import.meta.url));

const EXAMPLE_FLAGS = fileURLToPath(new URL('../../../examples/flags', import.meta.url));
const LISTENING = /^vexil listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/;
const START_TIMEOUT_MS = 15_000;

// Servers still running when the test process exits (a failed assertion, Ctrl-C) are killed
// here, so no test leaves a vexil behind.
const running = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of running) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

/**
 * Starts `vexil serve` on a fresh temp copy of examples/flags (so a test may edit the files).
 * Resolves once the server printed its listening line, with `{url, dir, stop()}`.
 */
export async function startServer({ debounceMs = 50, extraArgs = [] } = {}) {
  if (!existsSync(VEXIL_BIN)) {
    throw new Error(`no vexil binary at ${VEXIL_BIN}: build it (cargo build -p vexil) or set VEXIL_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'vexil-serve-'));
  cpSync(EXAMPLE_FLAGS, dir, { recursive: true });

  installExitHook();
  const child = spawn(
    VEXIL_BIN,
    ['serve', '--flags', dir, '--listen', '127.0.0.1:0', '--debounce-ms', String(debounceMs), ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } },
  );
  running.add(child);

  // Keep the last of stderr: it is the only explanation when the server fails to start.
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });

  let stopped = false;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
    running.delete(child);
    resolveExit({ code, signal });
  }));

  const stop = async () => {
    if (!stopped) {
      stopped = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const url = await new Promise((resolveUrl, reject) => {
      const lines = createInterface({ input: child.stdout });
      const timer = setTimeout(() => reject(new Error(`vexil printed no listening line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      lines.once('line', (line) => {
        clearTimeout(timer);
        const match = LISTENING.exec(line);
        if (match) resolveUrl(match[1]);
        else reject(new Error(`vexil's first stdout line is not the listening line: ${JSON.stringify(line)}`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`vexil exited (${code ?? signal}) before listening`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return { url, dir, stop, stderr: () => stderr };
  } catch (error) {
    await stop();
    error.message += `\nvexil stderr:\n${stderr}`;
    throw error;
  }
}

/** `GET /api/v1/namespaces/{ns}/status` as JSON. */
export async function namespaceStatus(url, namespace) {
  const response = await fetch(`${url}/api/v1/namespaces/${encodeURIComponent(namespace)}/status`);
  if (!response.ok) throw new Error(`status of ${namespace}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

/** Polls the status endpoint until the namespace's revision differs from `previous`. */
export async function waitForNewRevision(url, namespace, previous, { timeoutMs = 5000, intervalMs = 25 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let status;
  for (;;) {
    status = await namespaceStatus(url, namespace);
    if (status.revision && status.revision !== previous) return status;
    if (Date.now() > deadline) {
      throw new Error(`namespace ${namespace} still at revision ${previous} after ${timeoutMs} ms; last status ${JSON.stringify(status)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Rewrites one flag file of the server's copy with `edit(text) -> text`, then waits until the
 * server published a new revision of `namespace`. Returns the new status.
 */
export async function editFlagFile(server, relativePath, namespace, edit, options) {
  const { revision } = await namespaceStatus(server.url, namespace);
  const file = join(server.dir, relativePath);
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`editing ${relativePath} changed nothing`);
  writeFileSync(file, after);
  return waitForNewRevision(server.url, namespace, revision, options);
}

/** POSTs JSON and returns `{status, headers, body}` (body parsed when it is JSON). */
export async function postJson(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test will say so when it looks at the body.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}
