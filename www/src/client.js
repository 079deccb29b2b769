// The client: keeps one namespace's snapshot loaded in the wasm engine and in sync with vexil,
// and answers evaluations synchronously from it.
//
// Sync: the snapshot is fetched with If-None-Match (304 keeps everything); the push stream says
// when to fetch again; when the stream fails, the client polls with exponential backoff and
// jitter and keeps trying the stream, sending `Last-Event-ID` so the server only sends what it
// missed. Nothing that goes wrong (network, HTTP status, malformed snapshot) drops the last good
// snapshot: it is reported on 'error' and the client keeps answering.

import { backoffDelay, sleep } from './backoff.js';
import { Emitter } from './emitter.js';
import { Engine, ensureEngine } from './engine.js';
import { VexilError } from './errors.js';
import { DEFAULT_MAX_SNAPSHOT_BYTES } from './wasm-engine.js';
import { DEFAULT_STREAM_LIMITS, readServerSentEvents } from './sse.js';
import { uncompressed } from './input.js';
import { closedError, endpoints, fetchSnapshot, openStream } from './transport.js';

const DEFAULTS = {
  namespace: 'default',
  environment: 'default',
  stream: true,
  pollIntervalMs: 30_000,
  backoff: { initialMs: 1_000, maxMs: 30_000 },
  // The server sends a keep-alive every 15 s: three missed ones mean the connection is dead.
  streamIdleTimeoutMs: 45_000,
  // How long `Client.start` waits for the first snapshot.
  timeoutMs: 10_000,
  maxSnapshotBytes: DEFAULT_MAX_SNAPSHOT_BYTES,
  maxStreamLineLength: DEFAULT_STREAM_LIMITS.maxLineLength,
  maxStreamEventLength: DEFAULT_STREAM_LIMITS.maxEventLength,
};

// Stream statuses that mean "this server has no push stream": poll instead, for good. A 404 is
// not one of them: a namespace may be missing for a moment, and the stream is tried again.
const NO_STREAM_STATUSES = new Set([405, 501]);

const CONSTRUCTING = Symbol('Client.start');

export class Client {
  #engine;
  #options;
  #urls;
  #fetch;
  #headers;
  #events = new Emitter();
  #closer = new AbortController();
  #etag = null;
  // The revision's name (`X-Vexil-Revision`), which push events carry as their id.
  #revision = null;
  #flags = new Map();
  #expectedNamespace;
  #healthy = true;
  // Refreshes run one at a time; calls made while one waits to start share it.
  #running = Promise.resolve();
  #queued = null;

  /**
   * Starts a client. Resolves once a snapshot is loaded: the `seed` at once (syncing follows in
   * the background), else the first one fetched from `url` (rejects if that fails, or takes
   * longer than `timeoutMs`: a `TIMEOUT` VexilError). Without `url`, the client answers from the
   * seed alone and never syncs.
   */
  static async start(options = {}) {
    await ensureEngine();
    const client = new Client(options, CONSTRUCTING);
    await client.#begin();
    return client;
  }

  constructor(options, token) {
    if (token !== CONSTRUCTING) throw new TypeError('use `await Client.start(options)` to make a Client');
    this.#options = { ...DEFAULTS, ...options, backoff: { ...DEFAULTS.backoff, ...options.backoff } };
    const { url, namespace, environment, token: bearer, headers, fetch } = this.#options;
    this.#engine = new Engine({ maxBytes: this.#options.maxSnapshotBytes });
    // A client of a server, or told its namespace, refuses snapshots of any other namespace.
    this.#expectedNamespace = url || options.namespace !== undefined ? namespace : undefined;
    if (!url && options.seed === undefined) throw new TypeError('Client.start needs a `url`, a `seed`, or both');
    this.#urls = url ? endpoints(url, namespace, environment) : null;
    this.#fetch = fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#headers = { ...headers, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) };
  }

  async #begin() {
    const { seed } = this.#options;
    if (seed !== undefined) await this.#load(seedData(seed), null, null);
    if (!this.#urls) return;
    if (seed === undefined) {
      const { timeoutMs } = this.#options;
      let timer;
      const timedOut = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new VexilError('TIMEOUT', `no snapshot from ${this.#urls.snapshot} within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([this.refresh(), timedOut]);
      } catch (error) {
        this.close();
        throw error;
      } finally {
        clearTimeout(timer);
      }
    }
    this.#syncForever(seed !== undefined).catch((error) => this.#reportError(error));
  }

  // --- evaluation ---------------------------------------------------------------------------

  /** `{flagKey, match, reason, variantKey, variantAttachment, segmentKeys}`; throws VexilError. */
  evaluateVariant({ flagKey, entityId = '', context }) {
    try {
      return this.#engine.evaluateVariant(flagKey, entityId, context);
    } catch (error) {
      throw evaluationError(error);
    }
  }

  /** `{flagKey, enabled, reason, segmentKeys}`; throws VexilError. */
  evaluateBoolean({ flagKey, entityId = '', context }) {
    try {
      return this.#engine.evaluateBoolean(flagKey, entityId, context);
    } catch (error) {
      throw evaluationError(error);
    }
  }

  /**
   * Each request by its flag's type, as Flipt's batch: `{responses: [{type, variantResponse |
   * booleanResponse | errorResponse}]}`. Takes an array of requests or `{requests}`.
   */
  evaluateBatch(requests) {
    return this.#engine.evaluateBatch(requests);
  }

  /** `[{key, type, enabled}]` in snapshot order. */
  listFlags() {
    return this.#engine.listFlags();
  }

  /** `{key, type, enabled}` of one flag, or `undefined`. */
  getFlag(flagKey) {
    return this.#flags.get(flagKey);
  }

  get namespace() {
    return this.#engine.namespace;
  }

  /** The server environment this client follows (`"default"` unless told). */
  get environment() {
    return this.#options.environment;
  }

  /** The digest of the loaded snapshot (the revision's name). */
  get digest() {
    return this.#engine.digest;
  }

  /** True after a failed sync, until the next good one: answers may be out of date. */
  get stale() {
    return !this.#healthy;
  }

  get closed() {
    return this.#closer.signal.aborted;
  }

  // --- events -------------------------------------------------------------------------------

  /**
   * Subscribes; returns the unsubscribe function. Events: 'change' `{namespace, digest,
   * previousDigest, flags}` after a new snapshot is loaded; 'error' (a VexilError) when a sync
   * fails (the last good snapshot stays); 'recover' `{digest}` on the first good sync after errors.
   */
  on(event, listener) {
    return this.#events.on(event, listener);
  }

  // --- sync ---------------------------------------------------------------------------------

  /**
   * Fetches the snapshot now (If-None-Match). Resolves whether it changed; rejects (and emits
   * 'error') if the fetch or the load fails, keeping the old snapshot.
   */
  refresh() {
    if (this.closed) return Promise.reject(closedError());
    if (!this.#urls) return Promise.resolve(false);
    if (!this.#queued) {
      const run = this.#running.then(() => {
        this.#queued = null;
        return this.#fetchAndLoad();
      });
      this.#queued = run;
      this.#running = run.catch(() => {});
    }
    return this.#queued;
  }

  /** Stops the stream and every timer; evaluations keep answering from the last snapshot. */
  close() {
    if (this.closed) return;
    this.#closer.abort();
    this.#events.clear();
  }

  async #fetchAndLoad() {
    if (this.closed) throw closedError();
    try {
      const result = await fetchSnapshot({
        fetch: this.#fetch,
        url: this.#urls.snapshot,
        etag: this.#etag,
        headers: this.#headers,
        signal: this.#closer.signal,
        maxBytes: this.#options.maxSnapshotBytes,
      });
      const changed = result.notModified ? false : await this.#load(result.bytes, result.etag, result.revision);
      this.#markHealthy();
      return changed;
    } catch (error) {
      this.#reportError(error);
      throw error;
    }
  }

  /**
   * Loads a compiled snapshot, plain or compressed (checked first, with `publicKeys`); resolves
   * whether the digest changed. Rejects with the engine's VexilError (BAD_SNAPSHOT,
   * BAD_SIGNATURE, ...).
   */
  async #load(data, etag, revision) {
    const previousDigest = this.#engine.digest || null;
    const { publicKeys, environment, maxSnapshotBytes } = this.#options;
    // A compressed seed, or a runtime whose fetch left the body encoded, inflates here.
    const small = data instanceof Uint8Array && data.byteLength <= maxSnapshotBytes;
    const bytes = small ? await uncompressed(data, maxSnapshotBytes) : data;
    const loaded = await this.#engine.load(bytes, {
      namespace: this.#expectedNamespace,
      ...(publicKeys === undefined ? {} : { publicKeys, environment }),
    });
    this.#etag = etag ?? (loaded.digest || null);
    this.#revision = revision ?? this.#revision;
    if (previousDigest !== null && loaded.digest === previousDigest) return false;
    this.#flags = new Map(this.#engine.listFlags().map((flag) => [flag.key, flag]));
    if (previousDigest !== null) {
      this.#events.emit('change', { namespace: loaded.namespace, digest: loaded.digest, previousDigest, flags: loaded.flags });
    }
    return true;
  }

  #markHealthy() {
    if (this.#healthy) return;
    this.#healthy = true;
    this.#events.emit('recover', { digest: this.digest });
  }

  #reportError(error) {
    if (this.closed || error?.code === 'CLOSED') return;
    this.#healthy = false;
    this.#events.emit('error', error);
  }

  /** The background loop: the push stream with polling as the fallback, until close(). */
  async #syncForever(syncFirst) {
    const { backoff, pollIntervalMs } = this.#options;
    const signal = this.#closer.signal;
    let useStream = this.#options.stream;
    let failures = 0;
    if (syncFirst && !useStream) await this.refresh().catch(() => {});
    while (!signal.aborted) {
      if (useStream) {
        let connectedAt = null;
        try {
          // A seeded client learns of a newer revision from the stream's first event.
          await this.#followStream(() => {
            connectedAt = Date.now();
          });
        } catch (error) {
          if (signal.aborted) return;
          if (NO_STREAM_STATUSES.has(error.status)) useStream = false;
          this.#reportError(error);
        }
        if (signal.aborted) return;
        // A stream that stayed up a while was healthy; one that ends at once (a proxy that cuts
        // it, a server that answers and closes) counts as a failure, so retries back off.
        if (connectedAt !== null && Date.now() - connectedAt >= backoff.maxMs) failures = 0;
        // The stream is down (or ended): poll after a backoff, then try the stream again.
        failures++;
        await sleep(backoffDelay(failures, backoff), signal);
        if (useStream) await this.refresh().catch(() => {});
      } else {
        await sleep(failures ? backoffDelay(failures, backoff) : pollIntervalMs, signal);
        if (signal.aborted) return;
        try {
          await this.refresh();
          failures = 0;
        } catch {
          failures++;
        }
      }
    }
  }

  /** Reads the push stream until it ends; refetches on every event naming another revision. */
  async #followStream(onConnected) {
    const stream = new AbortController();
    const closeStream = () => stream.abort();
    this.#closer.signal.addEventListener('abort', closeStream, { once: true });
    let idleTimer;
    const resetIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(closeStream, this.#options.streamIdleTimeoutMs);
    };
    try {
      resetIdleTimer();
      const response = await openStream({
        fetch: this.#fetch,
        url: this.#urls.stream,
        lastEventId: this.#revision,
        headers: this.#headers,
        signal: stream.signal,
      });
      onConnected();
      this.#markHealthy();
      const limits = { maxLineLength: this.#options.maxStreamLineLength, maxEventLength: this.#options.maxStreamEventLength };
      for await (const event of readServerSentEvents(response.body, limits)) {
        resetIdleTimer();
        if (event.data !== undefined && this.#announcesOther(event)) this.refresh().catch(() => {});
      }
      if (!this.closed) throw new VexilError('STREAM', `the stream ${this.#urls.stream} ended`);
    } catch (error) {
      if (this.closed) return;
      if (error instanceof VexilError) throw error;
      const reason = stream.signal.aborted ? `was silent for ${this.#options.streamIdleTimeoutMs} ms` : `broke off: ${error.message}`;
      throw new VexilError('STREAM', `the stream ${this.#urls.stream} ${reason}`, { cause: error });
    } finally {
      clearTimeout(idleTimer);
      this.#closer.signal.removeEventListener('abort', closeStream);
      stream.abort(); // releases the connection if the loop left early
    }
  }

  /**
   * Whether a push event names another snapshot than the one loaded: by its compiled digest
   * (`{"etag": revision, "compiled": digest}`), else by the revision (`etag`, or the event id).
   */
  #announcesOther(event) {
    let payload = null;
    try {
      payload = JSON.parse(event.data);
    } catch {
      // Not JSON: the id still names the revision.
    }
    if (typeof payload?.compiled === 'string') return payload.compiled !== this.#etag;
    const revision = typeof payload?.etag === 'string' ? payload.etag : event.id || null;
    return revision !== null && revision !== this.#revision;
  }
}

/** The engine's VexilError as it is; anything else (a trap, a throwing getter) as EVALUATION. */
function evaluationError(error) {
  if (error instanceof VexilError) return error;
  return new VexilError('EVALUATION', error?.message ?? String(error), { cause: error });
}

/** A seed as bytes, if it is any; anything else is refused by the engine, which says why. */
function seedData(seed) {
  if (seed instanceof ArrayBuffer) return new Uint8Array(seed);
  if (ArrayBuffer.isView(seed)) return new Uint8Array(seed.buffer, seed.byteOffset, seed.byteLength);
  return seed;
}
