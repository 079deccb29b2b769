// The namespace's snapshot, kept in module scope between requests of one isolate.
//
// Within the TTL a request evaluates against what is loaded without asking vexil. After it,
// the next request revalidates with `If-None-Match`: a 304 (nothing changed) costs vexil no
// body and the worker no reload. If vexil cannot be reached, the last good snapshot keeps
// answering; only a worker that never loaded one fails.
//
// Requests do not share an in-flight fetch: the Workers runtime forbids one request from
// awaiting I/O that another request started, and a duplicate 304 is cheap.

const SNAPSHOT_PATH = '/internal/v1/evaluation/snapshot/namespace/';

export class SnapshotCache {
  /**
   * @param {object} options
   * @param {string} options.baseUrl   vexil's address, e.g. `https://flags.example.com`
   * @param {string} options.namespace the namespace to evaluate
   * @param {number} options.ttlMs     how long a loaded snapshot is used without revalidating
   * @param {string} [options.token]   a client token, when vexil runs with `--tokens`
   * @param {() => object} options.createEngine  a fresh, empty engine
   * @param {string[]} [options.publicKeys]  load only snapshots signed by one of these keys
   * @param {string} [options.environment]  the environment those snapshots are signed for
   */
  constructor({ baseUrl, namespace, ttlMs, token, createEngine, publicKeys, environment }) {
    this.url = `${baseUrl.replace(/\/+$/, '')}${SNAPSHOT_PATH}${encodeURIComponent(namespace)}`;
    this.namespace = namespace;
    this.publicKeys = publicKeys;
    this.environment = environment;
    this.ttlMs = ttlMs;
    this.token = token;
    this.createEngine = createEngine;
    this.engine = null;
    this.etag = null;
    this.checkedAt = -Infinity;
  }

  /**
   * The loaded engine, fresh within the TTL, and how it was obtained: `hit` (no request to
   * vexil), `revalidated` (304), `fetched` (a new snapshot), or `stale` (vexil failed; the last
   * good snapshot answers, `error` says why).
   */
  async current() {
    if (this.engine && Date.now() - this.checkedAt < this.ttlMs) {
      return { engine: this.engine, cache: 'hit' };
    }
    try {
      return await this.revalidate();
    } catch (error) {
      if (!this.engine) throw error;
      console.warn(`vexil unreachable, answering from revision ${this.engine.digest}: ${error.message}`);
      return { engine: this.engine, cache: 'stale', error };
    }
  }

  async revalidate() {
    const headers = { accept: 'application/vnd.vexil.snapshot' };
    if (this.engine && this.etag) headers['if-none-match'] = this.etag;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(this.url, { headers });
    if (response.status === 304 && this.engine) {
      this.checkedAt = Date.now();
      return { engine: this.engine, cache: 'revalidated' };
    }
    if (!response.ok) {
      const detail = (await response.text()).slice(0, 300);
      throw new Error(`GET ${this.url}: HTTP ${response.status} ${detail}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    // `load` throws on a bad snapshot (with publicKeys: a badly signed, or an older, one) and
    // keeps the previous one, so a failed load leaves this cache as it was.
    const engine = this.engine ?? this.createEngine();
    const { namespace, publicKeys, environment } = this;
    await engine.load(bytes, publicKeys ? { namespace, publicKeys, environment } : { namespace });
    this.engine = engine;
    this.etag = response.headers.get('etag');
    this.checkedAt = Date.now();
    return { engine, cache: 'fetched' };
  }
}
