// The npm package as `npm pack` makes it: exactly the files an app needs (the code, the types,
// the engine, the README and the licences), every entry point `exports` names inside it, and no
// packing of an engine built from other sources than the checkout's.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const www = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** `npm pack --dry-run` (which runs `prepack` too): its exit status, output and file list. */
function dryRun() {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
    cwd: www,
    encoding: 'utf8',
  });
  const files = run.status === 0 ? JSON.parse(run.stdout)[0].files.map((file) => file.path) : [];
  return { ...run, files };
}

/** Every path `exports` maps to, at any depth of conditions. */
function exportTargets(value) {
  if (typeof value === 'string') return [value];
  return Object.values(value).flatMap(exportTargets);
}

const listDir = (dir) => readdirSync(new URL(`../${dir}/`, import.meta.url)).map((name) => `${dir}/${name}`);

test('the tarball holds the code, types, engine, README and licences, and nothing else', () => {
  const { status, stderr, files } = dryRun();
  assert.equal(status, 0, stderr);
  const expected = [
    'package.json',
    'README.md',
    'LICENSE',
    'THIRD_PARTY_LICENSES.md',
    ...listDir('src'),
    ...listDir('types'),
    'pkg/vexil_wasm.js',
    'pkg/vexil_wasm.d.ts',
    'pkg/vexil_wasm_bg.wasm',
    'pkg/vexil_wasm_bg.wasm.d.ts',
  ];
  assert.deepEqual([...files].sort(), [...expected].sort());
  // `files` names nothing that is missing (npm adds package.json, README and LICENSE itself).
  for (const entry of manifest.files) {
    assert.ok(files.some((file) => file === entry || file.startsWith(`${entry}/`)), `files: ${entry} is not packed`);
  }
  for (const target of exportTargets(manifest.exports)) {
    assert.ok(files.includes(target.replace(/^\.\//, '')), `exports: ${target} is not packed`);
  }
  for (const entry of [manifest.main, manifest.types, ...manifest.sideEffects]) {
    assert.ok(files.includes(entry.replace(/^\.\//, '')), `${entry} is not packed`);
  }
});

test('the metadata a registry and a bundler read is there', () => {
  for (const field of ['name', 'version', 'description', 'license', 'repository', 'engines']) {
    assert.ok(manifest[field], `package.json has no ${field}`);
  }
  assert.equal(manifest.private, undefined);
  // The OpenFeature SDKs are the providers' peers, optional: the core needs neither.
  for (const peer of ['@openfeature/server-sdk', '@openfeature/web-sdk']) {
    assert.ok(manifest.peerDependencies[peer], peer);
    assert.equal(manifest.peerDependenciesMeta[peer].optional, true, peer);
  }
  assert.equal(manifest.dependencies, undefined, 'the core has no dependencies');
});

test('an engine built from other sources is not packed', () => {
  const stamp = new URL('../pkg/SOURCES.sha256', import.meta.url);
  const built = readFileSync(stamp, 'utf8');
  try {
    writeFileSync(stamp, `${'0'.repeat(64)}\n`);
    const { status, stderr } = dryRun();
    assert.notEqual(status, 0);
    assert.match(stderr, /built from other sources than these: run `\.\/x wasm`/);
  } finally {
    writeFileSync(stamp, built);
  }
  // And the real one packs.
  execFileSync('node', ['scripts/wasm-stamp.mjs', 'check'], { cwd: www });
});
