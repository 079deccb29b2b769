// The TypeScript declarations (www/types) against a small application (support/types/usage.ts),
// through `tsc --noEmit` resolving `@vexil/sdk` by package.json's exports, so they cannot rot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WWW = fileURLToPath(new URL('..', import.meta.url));

test('the declarations type-check an application using every entry point', async () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const args = [
    tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--lib', 'es2022,dom', '--skipLibCheck', 'false', 'test/support/types/node-shim.d.ts', 'test/support/types/usage.ts',
  ];
  const result = await new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: WWW, timeout: 60_000 }, (error, stdout, stderr) => resolve({ error, output: stdout + stderr }));
  });
  assert.equal(result.error, null, `tsc failed:\n${result.output}`);
});
