// The conformance corpus (crates/vexil-eval/tests/conformance/, written once from Flipt's own
// engine by test/conformance/generate.mjs) answered by the SDK's engine in Node, in Chromium and
// in workerd, through the one `check()` of test/conformance/check.mjs; Deno runs it in
// test/deno/conformance_test.js and Rust natively in crates/vexil-eval/tests/conformance.rs.
//
//   CHROMIUM=<path>   the browser (default /usr/bin/chromium; `./x setup` installs it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';

import { Engine } from '../src/index.node.js';
import { check, loadCorpus } from './conformance/check.mjs';
import { startServer } from './support/server.mjs';

const CORPUS_DIR = fileURLToPath(new URL('../../crates/vexil-eval/tests/conformance/', import.meta.url));
const CHECK = fileURLToPath(new URL('./conformance/check.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('./conformance/worker.mjs', import.meta.url));
const WWW = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TEST_TIMEOUT_MS = 60_000;

let corpus;

before(async () => {
  corpus = await loadCorpus({
    readText: (name) => readFile(join(CORPUS_DIR, name), 'utf8'),
    readBytes: async (name) => new Uint8Array(await readFile(join(CORPUS_DIR, name))),
  });
});

/** The corpus as JSON a browser page or a worker can take: compiled bytes in base64. */
const portable = () => corpus.map(({ cases, snapshot, compiled }) => ({
  cases, snapshot, compiled: compiled === null ? null : Buffer.from(compiled).toString('base64'),
}));

/** Every entry agreed, and the corpus is whole: each kind of case was answered. */
function assertAgreed(results, runtime) {
  assert.equal(results.length, corpus.length, `${runtime}: an entry was not checked`);
  const failures = results.flatMap((result) => result.failures);
  assert.deepEqual(failures, [], `${runtime}: ${failures.length} disagreements:\n${failures.slice(0, 10).join('\n')}`);
  for (const { name, checked } of results) {
    const { cases, compiled } = corpus.find((entry) => entry.cases.name === name);
    assert.equal(checked, compiled === null ? 0 : 2 * cases.cases.length, `${runtime}: ${name}: answers checked`);
  }
}

test('the corpus holds Flipt\'s vectors, deliberate differences, a refusal and errors', () => {
  const cases = corpus.flatMap((entry) => entry.cases.cases);
  assert.ok(cases.length >= 1000, `${cases.length} cases`);
  assert.ok(cases.filter((entry) => entry.difference).length >= 5, 'differences marked');
  assert.ok(corpus.some((entry) => entry.cases.refused), 'a snapshot Vexil refuses');
  assert.ok(cases.some((entry) => entry.flipt.type === 'ERROR_EVALUATION_RESPONSE_TYPE'), 'a flag not found');
  for (const type of ['VARIANT', 'BOOLEAN']) {
    const answered = cases.filter((entry) => entry.flipt.type === `${type}_EVALUATION_RESPONSE_TYPE`);
    for (const reason of ['MATCH', 'DEFAULT']) {
      assert.ok(answered.some((entry) => entry.flipt.reason === `${reason}_EVALUATION_REASON`), `${type} ${reason}`);
    }
  }
});

test('Node: the SDK engine answers the corpus as Flipt does', async () => {
  const results = [];
  for (const entry of corpus) results.push(await check(entry, new Engine()));
  assertAgreed(results, 'Node');
});

test('Chromium: the SDK engine answers the corpus as Flipt does', { timeout: TEST_TIMEOUT_MS }, async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: run \`./x setup\` (apt-get install -y chromium) or set CHROMIUM`);
  // vexil serves the SDK (src/, pkg/); the page and check.mjs are given to the browser here.
  const server = await startServer({ extraArgs: ['--www', WWW] });
  const userDataDir = mkdtempSync(join(tmpdir(), 'vexil-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.route(`${server.url}/conformance/**`, (route) => {
      const isCheck = route.request().url().endsWith('/check.mjs');
      route.fulfill(isCheck
        ? { contentType: 'text/javascript', body: readFileSync(CHECK, 'utf8') }
        : { contentType: 'text/html', body: '<!doctype html><title>conformance</title>' });
    });
    await page.goto(`${server.url}/conformance/`);
    const results = await page.evaluate(async (entries) => {
      const { check } = await import('/conformance/check.mjs');
      const { Engine, init } = await import('/src/index.browser.js');
      await init();
      const bytesOf = (base64) => Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
      const out = [];
      for (const { cases, snapshot, compiled } of entries) {
        out.push(await check({ cases, snapshot, compiled: compiled === null ? null : bytesOf(compiled) }, new Engine()));
      }
      return out;
    }, portable());
    assert.deepEqual(pageErrors, []);
    assertAgreed(results, 'Chromium');
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
    await server.stop();
  }
});

test('workerd: the SDK engine answers the corpus as Flipt does', { timeout: TEST_TIMEOUT_MS }, async () => {
  const mf = new Miniflare({
    host: '127.0.0.1',
    modules: true,
    scriptPath: WORKER,
    modulesRoot: WWW,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2025-01-01',
  });
  try {
    const response = await mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify(portable()) });
    const text = await response.text();
    assert.equal(response.status, 200, text.slice(0, 500));
    assertAgreed(JSON.parse(text), 'workerd');
  } finally {
    await mf.dispose();
  }
});
