// The conformance corpus (crates/vexil-eval/tests/conformance/) answered by the SDK's engine
// under Deno, through the same `check()` as Node, Chromium and workerd
// (test/conformance.test.mjs).

import { assertEquals } from './assert.js';
import { Engine, init } from '../../src/slim.js';
import { check, loadCorpus } from '../conformance/check.mjs';

const WASM = new URL('../../pkg/vexil_wasm_bg.wasm', import.meta.url);
const CORPUS = new URL('../../../crates/vexil-eval/tests/conformance/', import.meta.url);

await init(await Deno.readFile(WASM));

Deno.test('Deno: the SDK engine answers the corpus as Flipt does', async () => {
  const corpus = await loadCorpus({
    readText: (name) => Deno.readTextFile(new URL(name, CORPUS)),
    readBytes: (name) => Deno.readFile(new URL(name, CORPUS)),
  });
  assertEquals(corpus.length > 0, true);
  for (const entry of corpus) {
    const { failures, checked } = await check(entry, new Engine());
    assertEquals(failures, [], failures.slice(0, 10).join('\n'));
    assertEquals(checked, entry.compiled === null ? 0 : 2 * entry.cases.cases.length, `${entry.cases.name}: answers checked`);
  }
});
