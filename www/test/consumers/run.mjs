// @vexil/sdk installed from its packed tarball into an app per toolchain, each built as its
// users build it and run where it runs, each asking a real `vexil serve` the same question
// (request.js); every answer must be the server's own.
//
//   node run.mjs        (`./x test-consumers` packs the SDK and installs it here first)
//   VEXIL_BIN=<path>    the vexil binary (default target/debug/vexil)
//
// Node ESM (with the OpenFeature server provider), Node `require`, TypeScript under three module
// resolutions, Vite (with OpenFeature's React SDK and the web provider), webpack 5, esbuild (the
// README's recipe), a page with an import map and no bundler (the last four in Chromium), and a
// Workers project under `wrangler dev`.

import { execFile, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

import { freePort } from '../support/sdk.mjs';
import { startServer } from '../support/server.mjs';
import { request } from './request.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, 'dist');
const run = promisify(execFile);
const STEP_TIMEOUT_MS = 120_000;

const installed = join(here, 'node_modules/@vexil/sdk/package.json');
if (!existsSync(installed)) {
  console.error('consumers: @vexil/sdk is not installed here: run `./x test-consumers`');
  process.exit(1);
}

const vexil = await startServer();
const failures = [];

/** What the server answers itself: every consumer must give the same. */
const expected = await (await fetch(`${vexil.url}/evaluate/v1/variant`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ namespaceKey: 'default', ...request }),
})).json();

function sameAnswer(answer) {
  const pick = ({ match, reason, variantKey, segmentKeys }) =>
    JSON.stringify({ match, reason, variantKey, segmentKeys: [...(segmentKeys ?? [])].sort() });
  if (pick(answer) !== pick(expected)) {
    throw new Error(`answered ${JSON.stringify(answer)}, the server ${JSON.stringify(expected)}`);
  }
}

async function consumer(name, check) {
  const started = Date.now();
  try {
    await check();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures.push(name);
    console.log(`FAIL ${name}: ${error.stack ?? error}`);
  }
}

async function node(script) {
  const { stdout } = await run(process.execPath, [join(here, script), vexil.url], { timeout: STEP_TIMEOUT_MS });
  return JSON.parse(stdout);
}

const bin = (tool) => join(here, 'node_modules/.bin', tool);

// Static files for the browser apps, with the types browsers insist on (wasm streaming
// compilation wants application/wasm).
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css',
};
const files = createServer((req, res) => {
  const path = normalize(join(here, decodeURIComponent(new URL(req.url, 'http://x').pathname)));
  if (!path.startsWith(here) || !existsSync(path) || !statSync(path).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' });
  createReadStream(path).pipe(res);
});
await new Promise((resolve) => files.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${files.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** Opens an app's page and returns what it wrote into `selector`, as JSON or text. */
async function page(path, selector = '#result') {
  const tab = await browser.newPage();
  const errors = [];
  tab.on('pageerror', (error) => errors.push(String(error)));
  try {
    await tab.goto(`${origin}/${path}?server=${encodeURIComponent(vexil.url)}`);
    const element = tab.locator(selector);
    await element.waitFor({ timeout: 20_000 });
    await tab.waitForFunction((s) => document.querySelector(s).textContent !== '', selector, { timeout: 20_000 });
    const text = await element.textContent();
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    return text;
  } finally {
    await tab.close();
  }
}

async function browserAnswer(path) {
  const answer = JSON.parse(await page(path));
  if (answer.error) throw new Error(answer.error);
  sameAnswer(answer);
}

/** An app's bundle with a page that loads it. */
function writePage(dir, script) {
  writeFileSync(join(dir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><pre id="result"></pre><script type="module" src="./${script}"></script>\n`);
}

try {
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist);

  await consumer('Node ESM, with the OpenFeature server provider', async () => {
    const { sdk, openfeature } = await node('node-esm/main.mjs');
    sameAnswer(sdk);
    if (openfeature !== expected.variantKey) throw new Error(`OpenFeature: ${openfeature}`);
  });

  await consumer(`Node require (Node ${process.versions.node})`, async () => {
    sameAnswer(await node('node-require/main.cjs'));
  });

  for (const resolution of ['bundler', 'node16', 'nodenext']) {
    await consumer(`TypeScript, moduleResolution ${resolution}`, async () => {
      await run(bin('tsc'), ['-p', join(here, `typescript/tsconfig.${resolution}.json`)], { timeout: STEP_TIMEOUT_MS })
        .catch((error) => { throw new Error(error.stdout || error.message); });
    });
  }

  await consumer('Vite, with OpenFeature React and the web provider (Chromium)', async () => {
    const { build } = await import('vite');
    await build({
      root: join(here, 'vite'),
      base: './',
      logLevel: 'warn',
      build: { outDir: join(dist, 'vite'), emptyOutDir: true },
    });
    await browserAnswer('dist/vite/index.html');
    const react = await page('dist/vite/index.html', '#react');
    if (react !== expected.variantKey) throw new Error(`React: ${react}`);
  });

  await consumer('webpack 5 (Chromium)', async () => {
    const { default: webpack } = await import('webpack');
    const stats = await promisify(webpack)({
      mode: 'production',
      context: here,
      entry: './webpack/main.js',
      output: { path: join(dist, 'webpack'), filename: 'main.js', clean: true },
      performance: { hints: false },
    });
    if (stats.hasErrors() || stats.hasWarnings()) throw new Error(stats.toString('errors-warnings'));
    writePage(join(dist, 'webpack'), 'main.js');
    await browserAnswer('dist/webpack/index.html');
  });

  await consumer('esbuild, the README recipe (Chromium)', async () => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [join(here, 'esbuild/main.js')],
      bundle: true,
      format: 'esm',
      outdir: join(dist, 'esbuild'),
      loader: { '.wasm': 'file' },
      logLevel: 'silent',
    });
    if (result.warnings.length) throw new Error(JSON.stringify(result.warnings));
    writePage(join(dist, 'esbuild'), 'main.js');
    await browserAnswer('dist/esbuild/index.html');
  });

  await consumer('no bundler: an import map (Chromium)', async () => {
    await browserAnswer('importmap/index.html');
  });

  await consumer('Workers: wrangler dev --local', async () => {
    sameAnswer(await wranglerAnswer());
  });
} finally {
  await browser.close();
  files.close();
  await vexil.stop();
}

/** Runs the Workers project under `wrangler dev` and asks it once. */
async function wranglerAnswer() {
  const port = await freePort();
  const wrangler = spawn(bin('wrangler'), [
    'dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--var', `VEXIL_URL:${vexil.url}`,
    '--show-interactive-dev-session=false', '--persist-to', join(dist, 'wrangler-state'),
  ], {
    cwd: join(here, 'wrangler'),
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', XDG_CONFIG_HOME: join(dist, 'wrangler-config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  wrangler.stdout.on('data', (chunk) => { output += chunk; });
  wrangler.stderr.on('data', (chunk) => { output += chunk; });
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes(`Ready on http://127.0.0.1:${port}`)) {
      if (Date.now() > deadline || wrangler.exitCode !== null) throw new Error(`wrangler did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await fetch(`http://127.0.0.1:${port}/`);
    const answer = await response.json();
    // The generated glue once made wrangler warn of a duplicate module key; it must not again.
    if (/duplicate key/i.test(output)) throw new Error(`wrangler warned:\n${output}`);
    return answer;
  } finally {
    wrangler.kill('SIGTERM');
    await new Promise((resolve) => (wrangler.exitCode !== null ? resolve() : wrangler.once('exit', resolve)));
  }
}

if (failures.length) {
  console.error(`consumers: ${failures.length} failed: ${failures.join(', ')}`);
  process.exit(1);
}
console.log('consumers: every app gave the server\'s answer');
