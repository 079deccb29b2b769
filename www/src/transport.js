// The two HTTP calls a client makes to vexil (or Flipt): the snapshot, with ETag revalidation,
// and the push stream. Only `fetch` is used, so any runtime with fetch works.

import { VexilError } from './errors.js';

/** Where a namespace's snapshot and stream live under `baseUrl`. */
export function endpoints(baseUrl, namespace) {
  const base = String(baseUrl).replace(/\/+$/, '');
  const ns = encodeURIComponent(namespace);
  return {
    snapshot: `${base}/internal/v1/evaluation/snapshot/namespace/${ns}`,
    stream: `${base}/client/v2/environments/default/namespaces/${ns}/stream`,
  };
}

/** `"abc"`, `W/"abc"` or `abc` to `abc`. */
export function etagValue(header) {
  if (!header) return null;
  return header.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/**
 * Fetches the snapshot. Resolves `{notModified: true}` on 304, else `{bytes, etag}`; throws a
 * VexilError (`NETWORK` or `HTTP`) otherwise. `fetch` undoes gzip/deflate itself; should a
 * runtime hand back compressed bytes anyway, the engine inflates them.
 */
export async function fetchSnapshot({ fetch, url, etag, headers, signal }) {
  const requestHeaders = { accept: 'application/json', ...headers };
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
    const text = await response.text().catch(() => '');
    throw new VexilError('HTTP', `snapshot request to ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  }
  let bytes;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (signal?.aborted) throw closedError();
    throw new VexilError('NETWORK', `snapshot body from ${url} broke off: ${error.message}`, { cause: error });
  }
  return { bytes, etag: etagValue(response.headers.get('etag')) };
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
