// The demo page (www/demo/) in a real Chromium, served by a real `vexil serve --www`: it loads
// the namespace through the SDK, lists the flags, shows the server's own answers for what is
// typed into the form, and redraws when a flag file changes (pushed over SSE). The last state is
// saved as www/test-results/demo.png.
//
//   CHROMIUM=<path>   the browser (default /usr/bin/chromium; `./x setup` installs it)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { normalizeVexil } from './support/engines.mjs';
import { EXAMPLE_FLAGS } from './support/example-requests.mjs';
import { editFlagFile, namespaceStatus, postJson, startServer } from './support/server.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WWW = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../test-results/demo.png', import.meta.url));
const TEST_TIMEOUT_MS = 60_000;
// Well under the SDK's 30 s poll interval: a change seen within this came by push.
const LIVE_TIMEOUT_MS = 10_000;

let server;
let context;
let page;
let userDataDir;
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: run \`./x setup\` (apt-get install -y chromium) or set CHROMIUM`);
  server = await startServer({ extraArgs: ['--www', WWW] });
  userDataDir = mkdtempSync(join(tmpdir(), 'vexil-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(LIVE_TIMEOUT_MS);
  page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
  });
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await server?.stop();
});

/** Every flag card as data: `{key, type, enabled, value, reason, segments, attachment}`. */
function readCards() {
  return page.$$eval('[data-flag]', (cards) => cards.map((card) => {
    const field = (name) => card.querySelector(`[data-field="${name}"]`);
    return {
      key: card.dataset.flag,
      type: field('type').textContent,
      enabled: field('enabled').textContent,
      value: field('value').textContent,
      reason: field('reason').textContent,
      segments: [...field('segments').querySelectorAll('.segment')].map((chip) => chip.textContent),
      attachment: field('attachment').textContent,
    };
  }));
}

/** Polls `read()` until `check(value)` returns nothing; else fails with the last complaint. */
async function eventually(read, check, timeoutMs = LIVE_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    const complaint = check(value);
    if (!complaint) return value;
    if (Date.now() > deadline) assert.fail(`after ${timeoutMs} ms: ${complaint}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Types an entity id and context into the form, as a person would. */
async function enterSubject(entityId, contextValues) {
  await page.fill('#entity', entityId);
  // Remove every row, then add one per property.
  while (await page.locator('.context-row .remove').count()) await page.locator('.context-row .remove').first().click();
  for (const [key, value] of Object.entries(contextValues)) {
    await page.click('#add-row');
    const row = page.locator('.context-row').last();
    await row.locator('.ctx-key').fill(key);
    await row.locator('.ctx-value').fill(value);
  }
}

/** The server's answers for every example flag, as the page should show them. */
async function expectedCards(entityId, contextValues) {
  const requests = EXAMPLE_FLAGS.map((flagKey) => ({ namespaceKey: 'default', flagKey, entityId, context: contextValues }));
  const { status, body } = await postJson(`${server.url}/evaluate/v1/batch`, { requests });
  assert.equal(status, 200);
  const short = { MATCH_EVALUATION_REASON: 'match', DEFAULT_EVALUATION_REASON: 'default', FLAG_DISABLED_EVALUATION_REASON: 'disabled', UNKNOWN_EVALUATION_REASON: 'unknown' };
  return body.responses.map(normalizeVexil).map((answer) => ({
    key: answer.flagKey,
    value: 'enabled' in answer ? String(answer.enabled) : (answer.variantKey || 'no variant'),
    reason: short[answer.reason],
    segments: answer.segmentKeys,
  })).sort((a, b) => a.key.localeCompare(b.key));
}

// normalizeVexil sorts segment keys (Flipt's order is random), so the page's are sorted too.
const answersOf = (cards) => cards
  .map(({ key, value, reason, segments }) => ({ key, value, reason, segments: [...segments].sort() }))
  .sort((a, b) => a.key.localeCompare(b.key));

test('the page loads the namespace through the SDK and lists its flags', { timeout: TEST_TIMEOUT_MS }, async () => {
  const snapshots = [];
  const record = (response) => {
    if (response.url().includes('/snapshot/')) snapshots.push(response.headers()['content-type']);
  };
  page.on('response', record);
  await page.goto(`${server.url}/demo/`);
  await page.waitForSelector('body[data-ready="true"]');
  page.off('response', record);
  // The SDK asks for the compiled snapshot, and Chromium's engine loads it.
  assert.deepEqual(snapshots, ['application/vnd.vexil.snapshot']);
  const cards = await readCards();
  assert.deepEqual(cards.map(({ key, type, enabled }) => [key, type, enabled]), [
    ['new-checkout', 'variant', 'enabled'],
    ['holiday-banner', 'variant', 'disabled'],
    ['search-ranking', 'variant', 'enabled'],
    ['dark-mode', 'boolean', 'disabled'],
    ['free-shipping', 'boolean', 'enabled'],
  ]);
  const { compiledDigest } = await namespaceStatus(server.url, 'default');
  assert.equal(await page.getAttribute('#revision', 'data-digest'), compiledDigest);
  assert.equal(await page.textContent('#connection'), 'live');
});

test('answers for what is typed in are the server\'s answers', { timeout: TEST_TIMEOUT_MS }, async () => {
  await enterSubject('ann@vexil.dev', {});
  const cards = await eventually(readCards, (read) => {
    const checkout = read.find((card) => card.key === 'new-checkout');
    return checkout?.value === 'one-page' ? null : `new-checkout for ann@vexil.dev shows ${JSON.stringify(checkout)}`;
  });
  const checkout = cards.find((card) => card.key === 'new-checkout');
  assert.equal(checkout.reason, 'match');
  assert.deepEqual(checkout.segments, ['staff']);
  assert.deepEqual(JSON.parse(checkout.attachment), { layout: { columns: 2, express: true }, steps: 1 });

  const subjects = [
    ['ann@vexil.dev', {}],
    ['user-7', { plan: 'pro', seats: '12', country: 'NL', basket_total: '180', items: '3' }],
    ['carol-42', { client: 'ios', signed_up_at: '2023-05-01T10:00:00Z', email: 'carol@example.com' }],
    ['user-99', { blocked: 'true', role: 'user' }],
  ];
  for (const [entityId, contextValues] of subjects) {
    await enterSubject(entityId, contextValues);
    const want = await expectedCards(entityId, contextValues);
    await eventually(async () => answersOf(await readCards()), (got) => (JSON.stringify(got) === JSON.stringify(want)
      ? null
      : `for ${entityId} ${JSON.stringify(contextValues)} the page shows\n${JSON.stringify(got)}\nthe server says\n${JSON.stringify(want)}`));
  }
});

test('a flag file change reaches the page by push and redraws it', { timeout: TEST_TIMEOUT_MS }, async () => {
  await enterSubject('ann@vexil.dev', { plan: 'pro', country: 'NL' });
  const before = await readCards();
  assert.deepEqual(before.find((card) => card.key === 'holiday-banner').value, 'none');

  const status = await editFlagFile(server, 'default/features.yml', 'default', (text) => {
    const start = text.indexOf('- key: holiday-banner');
    const at = text.indexOf('enabled: false', start);
    assert.ok(start >= 0 && at > start, 'holiday-banner\'s enabled line not found');
    return `${text.slice(0, at)}enabled: true${text.slice(at + 'enabled: false'.length)}`;
  });
  assert.deepEqual(status.errors, []);

  await page.waitForSelector(`#revision[data-digest="${status.compiledDigest}"]`, { timeout: LIVE_TIMEOUT_MS });
  const banner = await eventually(readCards, (cards) => {
    const card = cards.find((c) => c.key === 'holiday-banner');
    return card?.value === 'snow' ? null : `holiday-banner shows ${JSON.stringify(card)}`;
  }).then((cards) => cards.find((c) => c.key === 'holiday-banner'));
  assert.deepEqual([banner.enabled, banner.reason, banner.segments, banner.attachment], ['enabled', 'match', ['everyone'], '"snowflakes.svg"']);
  assert.equal(await page.locator('#revisions li').count(), 2, 'the revision list shows the loaded and the pushed revision');

  mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
  await page.waitForTimeout(1000); // a moment after the push: the highlights are fading
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(pageErrors, [], 'the page logged errors');
});
