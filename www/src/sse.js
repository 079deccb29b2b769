// Server-Sent Events read from a fetch body (a `ReadableStream` of bytes), as the HTML standard
// parses them. Used instead of `EventSource` so the same code runs in Node, browsers and workers,
// and so requests can carry headers (`Authorization`, `Last-Event-ID`).

/**
 * Yields `{id, event, data}` for each event of the stream, and `{comment}` for each comment line
 * (keep-alives), so a caller can tell a quiet stream from a dead one. Ends with the stream.
 */
export async function* readServerSentEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = emptyEvent();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let lineEnd;
      while ((lineEnd = findLineEnd(buffer)) !== -1) {
        const line = buffer.slice(0, lineEnd);
        // A CR at the very end may be the first half of CRLF: wait for the next chunk.
        if (buffer[lineEnd] === '\r' && lineEnd + 1 === buffer.length && !done) break;
        buffer = buffer.slice(lineEnd + (buffer.startsWith('\r\n', lineEnd) ? 2 : 1));
        if (line === '') {
          if (event.hasData) yield { id: event.id, event: event.type, data: event.data.join('\n') };
          event = emptyEvent(event.id);
        } else if (line.startsWith(':')) {
          yield { comment: line.slice(1).trimStart() };
        } else {
          applyField(event, line);
        }
      }
      if (done) return; // an unterminated last event is dropped, as the standard says
    }
  } finally {
    reader.releaseLock();
  }
}

// The last event id persists across events until a new `id:` field changes it.
function emptyEvent(id = '') {
  return { id, type: 'message', data: [], hasData: false };
}

function findLineEnd(text) {
  const lf = text.indexOf('\n');
  const cr = text.indexOf('\r');
  if (lf === -1) return cr;
  if (cr === -1) return lf;
  return Math.min(lf, cr);
}

function applyField(event, line) {
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  switch (name) {
    case 'data':
      event.data.push(value);
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
