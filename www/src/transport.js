// The two HTTP calls a client makes to vexil (or Flipt): the snapshot, with ETag revalidation,
// and the push stream. Only `fetch` is used, so any runtime with fetch works.

import { VexilError } from './errors.js';

/** The media type of the compiled snapshot. */
export const COMPILED_SNAPSHOT_TYPE = 'application/vnd.vexil.snapshot';

/** Where a namespace's snapshot and stream live under `baseUrl`. */
export function endpoints(baseUrl, namespace, environment = 'default') {
  const base = String(baseUrl).replace(/\/+$/, '');
  const ns = encodeURIComponent(namespace);
  const env = encodeURIComponent(environment);
  // The default environment's snapshot keeps Flipt v1's path, which every Flipt server has.
  const snapshot = environment === 'default'
    ? `${base}/internal/v1/evaluation/snapshot/namespace/${ns}`
    : `${base}/client/v2/environments/${env}/namespaces/${ns}/snapshot`;
  return { snapshot, stream: `${base}/client/v2/environments/${env}/namespaces/${ns}/stream` };
}

/** `"abc"`, `W/"abc"` or `abc` to `abc`. */
export function etagValue(header) {
  if (!header) return null;
  return header.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/**
 * Fetches the compiled snapshot. Resolves `{notModified: true}` on 304, else `{bytes, etag,
 * revision}`; throws a VexilError (`NETWORK`, `HTTP` or `TOO_LARGE`) otherwise. `fetch` undoes
 * the content encoding itself (and asks only for those it decodes);
 * should a runtime hand back compressed bytes anyway, the engine inflates them. The body is
 * read chunk by chunk and given up once it passes `maxBytes`, so a server that sends without
 * end costs the limit, not the memory.
 */
export async function fetchSnapshot({ fetch, url, etag, headers, signal, maxBytes }) {
  // The compiled snapshot (docs/compiled-snapshot.md); a server without it sends Flipt's JSON,
  // which the engine refuses with a message saying so.
  const requestHeaders = { accept: COMPILED_SNAPSHOT_TYPE, ...headers };
  if (etag) requestHeaders['if-none-match'] = `"${etag}"`;
  let response;
  try {
    response = await fetch(url, { headers: requestHeaders, signal });
  } catch (error) {
    if (signal?.aborted) throw closedError();
    throw new VexilError('NETWORK', `snapshot request to ${url} failed: ${error.message}`, { cause: error });
  }
  if (response.status === 304) {
    await response.body?.cancel?.();
    return { notModified: true };
  }
  if (!response.ok) {
    const text = await readStart(response, 200);
    throw new VexilError('HTTP', `snapshot request to ${url} answered ${response.status}: ${text}`);
  }
  let bytes;
  try {
    bytes = await readBounded(response, maxBytes, url);
  } catch (error) {
    if (error instanceof VexilError) throw error;
    if (signal?.aborted) throw closedError();
    throw new VexilError('NETWORK', `snapshot body from ${url} broke off: ${error.message}`, { cause: error });
  }
  return { bytes, etag: etagValue(response.headers.get('etag')), revision: response.headers.get('x-vexil-revision') };
}

/** The first `length` characters of an error body, for the message; the rest is not read. */
async function readStart(response, length) {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < length) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } catch {
    // An error body that breaks off says no less than one that was never sent.
  }
  return text.slice(0, length);
}

/** The whole body, or a `TOO_LARGE` VexilError once it passes `maxBytes` (then cancelled). */
async function readBounded(response, maxBytes, url) {
  const tooLarge = () => new VexilError('TOO_LARGE', `snapshot from ${url} is larger than ${maxBytes} bytes (maxSnapshotBytes)`);
  // Content-Length counts the encoded bytes; the decoded ones are counted as they come.
  const declared = Number(response.headers.get('content-length'));
  const encoded = response.headers.get('content-encoding');
  if (!encoded && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel?.();
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * Opens the push stream as Server-Sent Events. Resolves the response once headers arrived;
 * throws a VexilError (`NETWORK`, or `HTTP` with `status`) otherwise.
 */
export async function openStream({ fetch, url, lastEventId, headers, signal }) {
  const requestHeaders = { accept: 'text/event-stream', ...headers };
  if (lastEventId) requestHeaders['last-event-id'] = lastEventId;
  let response;
  try {
    response = await fetch(url, { headers: requestHeaders, signal });
  } catch (error) {
    if (signal?.aborted) throw closedError();
    throw new VexilError('NETWORK', `stream request to ${url} failed: ${error.message}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel?.();
    const error = new VexilError('HTTP', `stream request to ${url} answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response;
}

export const closedError = () => new VexilError('CLOSED', 'the client was closed');
