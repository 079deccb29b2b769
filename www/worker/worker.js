// Vexil at the edge: a Cloudflare Worker that evaluates flags with Vexil's wasm engine, from a
// snapshot it fetches from a vexil server and keeps between requests (see snapshot-cache.js).
//
//   GET  /evaluate?flag=KEY[&flag=KEY2]&entity=ID&k=v...   every other parameter is context
//   POST /evaluate/v1/batch | /evaluate/v1/variant | /evaluate/v1/boolean   Flipt's API
//
// Bindings: VEXIL_URL (required), VEXIL_NAMESPACE (default `default`), VEXIL_TTL_SECONDS
// (default 10), VEXIL_TOKEN (a client token, when vexil runs with --tokens), VEXIL_PUBLIC_KEYS
// (the public keys of `vexil serve --signing-key`, comma-separated: then only snapshots they
// signed are loaded, checked with WebCrypto's Ed25519).

import wasmModule from '../pkg/vexil_wasm_bg.wasm';
import { Engine, initFromModule } from '../src/slim.js';

import { HttpError, checkRequest, jsonBody, requestsFromBatch, requestsFromQuery } from './requests.js';
import { SnapshotCache } from './snapshot-cache.js';

// Workers cannot compile wasm while serving a request; the import is already compiled, so it is
// instantiated once per isolate, here. The SDK's Client is not used: its push stream and timers
// need a long-lived process, and a worker lives for one request at a time.
initFromModule(wasmModule);

const DEFAULT_TTL_SECONDS = 10;
const RESPONSE_TYPE = { variant: 'VARIANT_EVALUATION_RESPONSE_TYPE', boolean: 'BOOLEAN_EVALUATION_RESPONSE_TYPE' };
const RESPONSE_FIELD = { variant: 'variantResponse', boolean: 'booleanResponse' };

// One cache per isolate and configuration (bindings are fixed for a deployment, but tests
// and `wrangler dev` may change them).
const caches = new Map();

function snapshotCache(env) {
  if (!env.VEXIL_URL) throw new HttpError(503, 'the worker has no VEXIL_URL binding');
  const namespace = env.VEXIL_NAMESPACE || 'default';
  const ttl = Number(env.VEXIL_TTL_SECONDS ?? DEFAULT_TTL_SECONDS);
  const ttlSeconds = Number.isFinite(ttl) && ttl >= 0 ? ttl : DEFAULT_TTL_SECONDS;
  const publicKeys = (env.VEXIL_PUBLIC_KEYS ?? '').split(',').map((key) => key.trim()).filter(Boolean);
  const key = JSON.stringify([env.VEXIL_URL, namespace, ttlSeconds, env.VEXIL_TOKEN ?? '', publicKeys]);
  if (!caches.has(key)) {
    caches.set(key, new SnapshotCache({
      baseUrl: env.VEXIL_URL,
      namespace,
      ttlMs: ttlSeconds * 1000,
      token: env.VEXIL_TOKEN,
      createEngine: () => new Engine(),
      ...(publicKeys.length ? { publicKeys, environment: 'default' } : {}),
    }));
  }
  return { cache: caches.get(key), namespace };
}

export default {
  async fetch(request, env) {
    const started = Date.now();
    try {
      return await route(request, env, started);
    } catch (error) {
      const httpError = error instanceof HttpError ? error : new HttpError(502, `snapshot unavailable: ${error.message}`);
      return json(httpError.body(), { status: httpError.status });
    }
  },
};

async function route(request, env, started) {
  const url = new URL(request.url);
  const { method } = request;
  if (method === 'OPTIONS') return new Response(null, { status: 204, headers: CORS });
  if (url.pathname === '/health' && method === 'GET') return json({ status: 'SERVING' });
  if (url.pathname === '/' && method === 'GET') return new Response(USAGE, { headers: { 'content-type': 'text/plain; charset=utf-8' } });

  const { cache, namespace } = snapshotCache(env);
  if (url.pathname === '/evaluate' && method === 'GET') {
    const requests = requestsFromQuery(url.searchParams, namespace);
    return evaluateBatch(await cache.current(), requests, crypto.randomUUID(), started);
  }
  if (url.pathname === '/evaluate/v1/batch' && method === 'POST') {
    const body = await jsonBody(request);
    const requests = requestsFromBatch(body, namespace);
    return evaluateBatch(await cache.current(), requests, body.requestId || crypto.randomUUID(), started);
  }
  const single = /^\/evaluate\/v1\/(variant|boolean)$/.exec(url.pathname);
  if (single && method === 'POST') {
    const evaluation = checkRequest(await jsonBody(request), namespace);
    return evaluateOne(await cache.current(), single[1], evaluation, started);
  }
  if (['/evaluate', '/evaluate/v1/batch', '/evaluate/v1/variant', '/evaluate/v1/boolean', '/health'].includes(url.pathname)) {
    throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
  }
  throw new HttpError(404, `no route ${url.pathname}`);
}

/** Flipt's batch response: `{requestId, responses, requestDurationMillis}`. */
function evaluateBatch(loaded, requests, requestId, started) {
  const { responses } = loaded.engine.evaluateBatch(requests);
  return json({ requestId, responses, requestDurationMillis: Date.now() - started }, { headers: revisionHeaders(loaded) });
}

/** Flipt's single variant or boolean response, with its 404 and 400 answers. */
function evaluateOne(loaded, kind, request, started) {
  // Through the batch call, so an unknown flag and a wrong type come back as data, not as
  // error messages to parse.
  const [item] = loaded.engine.evaluateBatch([request]).responses;
  const name = `${request.namespaceKey}/${request.flagKey}`;
  if (item.type === 'ERROR_EVALUATION_RESPONSE_TYPE') throw new HttpError(404, `flag "${name}" not found`);
  if (item.type !== RESPONSE_TYPE[kind]) throw new HttpError(400, `${name}: not a ${kind} flag`);
  const body = {
    ...item[RESPONSE_FIELD[kind]],
    requestId: request.requestId || crypto.randomUUID(),
    requestDurationMillis: Date.now() - started,
    timestamp: new Date().toISOString(),
  };
  return json(body, { headers: revisionHeaders(loaded) });
}

/** Which revision answered, and whether vexil was asked (`hit`, `revalidated`, `fetched`, `stale`). */
function revisionHeaders({ engine, cache }) {
  return { 'x-vexil-revision': engine.digest, 'x-vexil-cache': cache };
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type',
  'access-control-expose-headers': 'X-Vexil-Revision, X-Vexil-Cache',
};

function json(body, { status = 200, headers = {} } = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...CORS, ...headers },
  });
}

const USAGE = `Vexil edge worker
GET  /evaluate?flag=KEY[&flag=KEY2]&entity=ID&key=value...
POST /evaluate/v1/batch    {"requests": [{"flagKey", "entityId", "context"}]}
POST /evaluate/v1/variant  {"flagKey", "entityId", "context"}
POST /evaluate/v1/boolean  {"flagKey", "entityId", "context"}
`;
