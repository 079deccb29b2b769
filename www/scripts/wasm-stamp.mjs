// Which sources `www/pkg/` was built from: `./x wasm` writes the SHA-256 of the Rust sources that
// go into the engine next to it (`write`), and `npm pack` refuses to pack an engine built from
// other sources (`check`, the package's `prepack`), so a release never ships a stale engine.
//
//   node scripts/wasm-stamp.mjs write|check

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const stamp = fileURLToPath(new URL('../pkg/SOURCES.sha256', import.meta.url));
// Everything the wasm build reads: the two crates, the lock file, the workspace's profiles.
const inputs = ['Cargo.toml', 'Cargo.lock', 'crates/vexil-eval', 'crates/vexil-wasm'];

function files(path) {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [path];
  // The crates' tests do not go into the engine.
  return readdirSync(full)
    .filter((name) => name !== 'target' && name !== 'tests' && !name.startsWith('.'))
    .flatMap((name) => files(relative(root, join(full, name))));
}

function digest() {
  const hash = createHash('sha256');
  for (const file of inputs.flatMap(files).sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const command = process.argv[2];
if (command === 'write') {
  writeFileSync(stamp, `${digest()}\n`);
} else if (command === 'check') {
  const built = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : null;
  if (built !== digest()) {
    console.error(built === null
      ? 'www/pkg/ has no engine built by `./x wasm`: run it before packing'
      : 'www/pkg/ was built from other sources than these: run `./x wasm` before packing');
    process.exit(1);
  }
} else {
  console.error('usage: node scripts/wasm-stamp.mjs write|check');
  process.exit(2);
}
