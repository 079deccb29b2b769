// Server-Sent Events read from a fetch body (a `ReadableStream` of bytes), as the HTML standard
// parses them. Used instead of `EventSource` so the same code runs in Node, browsers and workers,
// and so requests can carry headers (`Authorization`, `Last-Event-ID`).

import { VexilError } from './errors.js';

/** The longest line and the largest event a stream may send, by default (in characters). */
export const DEFAULT_STREAM_LIMITS = { maxLineLength: 64 * 1024, maxEventLength: 1024 * 1024 };

/**
 * Yields `{id, event, data}` for each event of the stream, and `{comment}` for each comment line
 * (keep-alives), so a caller can tell a quiet stream from a dead one. Ends with the stream.
 *
 * A line longer than `maxLineLength`, or an event's data longer than `maxEventLength`, throws a
 * `STREAM` VexilError: a server that never ends a line or an event costs the limit, not all the
 * memory. Each character is scanned once, however the stream is cut into chunks.
 */
export async function* readServerSentEvents(body, limits = DEFAULT_STREAM_LIMITS) {
  const { maxLineLength, maxEventLength } = { ...DEFAULT_STREAM_LIMITS, ...limits };
  const reader = body.getReader();
  const decoder = new TextDecoder();
  // What is left of the last chunk: the start of a line. `scanned` of it holds no line end.
  let buffer = '';
  let scanned = 0;
  let event = emptyEvent();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      let lf = buffer.indexOf('\n', scanned);
      let cr = buffer.indexOf('\r', scanned);
      for (;;) {
        if (lf !== -1 && lf < start) lf = buffer.indexOf('\n', start);
        if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
        const lineEnd = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (lineEnd === -1) break;
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (lineEnd === cr && lineEnd + 1 === buffer.length && !done) break;
        if (lineEnd - start > maxLineLength) {
          throw new VexilError('STREAM', `a stream line is longer than ${maxLineLength} characters`);
        }
        const line = buffer.slice(start, lineEnd);
        start = lineEnd + (lineEnd === cr && buffer[lineEnd + 1] === '\n' ? 2 : 1);
        if (line === '') {
          if (event.hasData) yield { id: event.id, event: event.type, data: event.data.join('\n') };
          event = emptyEvent(event.id);
        } else if (line.startsWith(':')) {
          yield { comment: line.slice(1).trimStart() };
        } else {
          applyField(event, line);
          if (event.dataLength > maxEventLength) {
            throw new VexilError('STREAM', `a stream event is longer than ${maxEventLength} characters`);
          }
        }
      }
      buffer = buffer.slice(start);
      // All of what is left was scanned, but a held-back CR, which is looked at again.
      scanned = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
      if (buffer.length > maxLineLength) {
        throw new VexilError('STREAM', `a stream line is longer than ${maxLineLength} characters`);
      }
      if (done) return; // an unterminated last event is dropped, as the standard says
    }
  } finally {
    reader.releaseLock();
  }
}

// The last event id persists across events until a new `id:` field changes it.
function emptyEvent(id = '') {
  return { id, type: 'message', data: [], dataLength: 0, hasData: false };
}

function applyField(event, line) {
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  switch (name) {
    case 'data':
      event.data.push(value);
      event.dataLength += value.length + 1;
      event.hasData = true;
      break;
    case 'id':
      if (!value.includes('\0')) event.id = value;
      break;
    case 'event':
      event.type = value;
      break;
    default:
      break; // `retry` and unknown fields: the client has its own backoff
  }
}
