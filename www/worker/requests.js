// Turning HTTP requests into evaluation requests, and failures into Flipt's error shape.

/** Query parameters that are not context: the flag(s) and the entity. */
const RESERVED = new Set(['flag', 'entity']);

// As vexil's own limits (DESIGN.md §6), so the worker refuses what vexil would.
export const MAX_BATCH = 10_000;

/** A request the worker refuses, answered as Flipt's gateway answers errors. */
export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** Flipt's `{code, message, details}`, `code` being the gRPC code of the status. */
  body() {
    const GRPC = { 400: 3, 404: 5, 405: 12, 413: 8, 502: 14, 503: 14 };
    return { code: GRPC[this.status] ?? 13, message: this.message, details: [] };
  }
}

/**
 * `GET /evaluate?flag=KEY[&flag=KEY2]&entity=ID&plan=pro&...`: one request per flag, every
 * other parameter a context entry.
 */
export function requestsFromQuery(searchParams, namespaceKey) {
  const flags = searchParams.getAll('flag').filter(Boolean);
  if (flags.length === 0) throw new HttpError(400, 'flag=KEY is required (it may repeat)');
  const entityId = searchParams.get('entity') ?? '';
  const context = {};
  for (const [key, value] of searchParams) {
    if (!RESERVED.has(key)) context[key] = value;
  }
  return flags.map((flagKey) => ({ namespaceKey, flagKey, entityId, context }));
}

/** Flipt's `{requestId?, requests: [...]}`, checked and with the namespace filled in. */
export function requestsFromBatch(body, namespaceKey) {
  if (!body || !Array.isArray(body.requests)) throw new HttpError(400, 'the body must be {"requests": [...]}');
  if (body.requests.length > MAX_BATCH) {
    throw new HttpError(413, `a batch holds at most ${MAX_BATCH} requests, this one ${body.requests.length}`);
  }
  return body.requests.map((request, position) => checkRequest(request, namespaceKey, `requests[${position}]`));
}

/** One Flipt evaluation request (`/evaluate/v1/variant` or `/boolean`), checked. */
export function checkRequest(request, namespaceKey, where = 'request') {
  if (!request || typeof request !== 'object') throw new HttpError(400, `${where} must be an object`);
  const { flagKey, entityId = '', context = {}, requestId } = request;
  if (typeof flagKey !== 'string' || flagKey === '') throw new HttpError(400, `${where}.flagKey must be a non-empty string`);
  if (typeof entityId !== 'string') throw new HttpError(400, `${where}.entityId must be a string`);
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new HttpError(400, `${where}.context must be an object of strings`);
  }
  // A request without a namespace means the worker's own, as a client of one namespace expects.
  return { namespaceKey: request.namespaceKey || namespaceKey, flagKey, entityId, context, requestId };
}

/** The JSON body of a POST, or a 400 saying why not. */
export async function jsonBody(request) {
  try {
    return await request.json();
  } catch (error) {
    throw new HttpError(400, `invalid request body: ${error.message}`);
  }
}
