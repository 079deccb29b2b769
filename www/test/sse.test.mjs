// The Server-Sent Events reader on its own: line endings (LF, CR, CRLF), fields, comments and the
// last-event-id rule, with the stream cut into chunks at every byte so a CR, a CRLF or a UTF-8
// sequence split across reads is covered.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { readServerSentEvents } from '../src/sse.js';

const encoder = new TextEncoder();

function streamOf(chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function readAll(chunks) {
  const items = [];
  for await (const item of readServerSentEvents(streamOf(chunks))) items.push(item);
  return items;
}

// Every way to cut `bytes` into two reads, and into three reads around each pair of cut points
// at most `span` bytes apart (a CRLF or a multi-byte character needs no more).
function* splits(bytes, span = 4) {
  yield [bytes];
  for (let i = 1; i < bytes.length; i++) {
    yield [bytes.slice(0, i), bytes.slice(i)];
    for (let j = i + 1; j < Math.min(bytes.length, i + span); j++) {
      yield [bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)];
    }
  }
}

async function assertEveryCut(text, expected) {
  const bytes = encoder.encode(text);
  for (const chunks of splits(bytes)) {
    const cuts = chunks.map((chunk) => chunk.length).join('+');
    assert.deepEqual(await readAll(chunks), expected, `read in chunks of ${cuts} bytes`);
  }
}

const message = (data, id = '', event = 'message') => ({ id, event, data });

test('LF, CR and CRLF all end lines, wherever the reads are cut', async () => {
  const expected = [message('one', '1', 'revision'), message('two', '2', 'revision')];
  for (const eol of ['\n', '\r', '\r\n']) {
    const text = ['id: 1', 'event: revision', 'data: one', '', 'id: 2', 'event: revision', 'data: two', '', '']
      .join(eol);
    await assertEveryCut(text, expected);
  }
});

test('mixed line endings in one stream', async () => {
  await assertEveryCut('data: a\r\n\rdata: b\n\r\ndata: c\r\r', [message('a'), message('b'), message('c')]);
});

test('data lines join with LF; one leading space is dropped from values', async () => {
  await assertEveryCut('data:first\ndata:  second\ndata\n\n', [message('first\n second\n')]);
});

test('comments are reported; events without data are not dispatched', async () => {
  await assertEveryCut(': keep-alive\r\n\r\nevent: revision\r\n\r\n:\r\ndata: x\r\n\r\n', [
    { comment: 'keep-alive' },
    { comment: '' },
    message('x'),
  ]);
});

test('the event id persists until changed; an id with NUL is ignored; the type resets', async () => {
  const text = 'id: 7\nevent: revision\ndata: a\n\ndata: b\n\nid: 8\0\ndata: c\n\nid\ndata: d\n\n';
  await assertEveryCut(text, [message('a', '7', 'revision'), message('b', '7'), message('c', '7'), message('d', '')]);
});

test('unknown fields and retry are ignored; an unterminated last event is dropped', async () => {
  await assertEveryCut('retry: 10\nfoo: bar\ndata: kept\n\ndata: cut off', [message('kept')]);
  await assertEveryCut('data: cut off\r', []);
});

test('multi-byte characters survive being split across reads', async () => {
  await assertEveryCut('data: ünïcødé ✓ 🚩\n\n', [message('ünïcødé ✓ 🚩')]);
});

test('a byte-order mark at the start is skipped', async () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('data: x\n\n')]);
  assert.deepEqual(await readAll([bytes]), [message('x')]);
});

test('a line over the limit is refused whether or not it arrives whole', async () => {
  const long = `data: ${'x'.repeat(200)}\n\n`;
  for (const chunks of [[long], [long.slice(0, 50), long.slice(50)]]) {
    const body = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    await assert.rejects(async () => {
      for await (const _ of readServerSentEvents(body, { maxLineLength: 100 })) { /* drain */ }
    }, /line is longer than 100/);
  }
});
