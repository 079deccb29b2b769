// The SDK's `Engine`: the one owner of the JavaScript side of the wasm engine
// (crates/vexil-wasm/src/engine.rs owns the Rust side).
//
// At each load the engine describes the snapshot once (flag keys and positions, the context
// properties each flag reads, variant keys and attachments, each rule's or rollout's segment
// keys), so every string a result holds is made here once per revision. An evaluation maps the
// flag key to its position with a `Map`, writes the entity id and that flag's property values
// into a scratch region of wasm memory, calls `evaluate` with integers and builds the result
// (results.js) from integers it reads back; a negative answer is an error code, thrown as a
// VexilError.
//
// A trap (a `WebAssembly.RuntimeError`: the engine ran out of memory, or a bug) leaves the wasm
// instance unusable for every engine in it. So any call that traps re-instantiates the module
// (a new `WebAssembly.Instance` with fresh memory) and every live engine reloads its last good
// snapshot into it; the call that trapped throws, the next ones answer.

import { Engine as WasmEngine, errorCodes, reinstantiate } from '../pkg/vexil_wasm.js';
import { VexilError } from './errors.js';
import { batchItem, booleanResult, errorItem, flagInfo, segmentKeys, variantResult, VARIANT_FLAG_TYPE } from './results.js';
import { compressionOf, uncompressed } from './input.js';
import { Verifier } from './verify.js';

/** The largest snapshot `load` passes to wasm, by default (64 MiB, as the engine inflates to). */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

// What `evaluate` is asked for.
const ASK_ANY = 0;
const ASK_VARIANT = 1;
const ASK_BOOLEAN = 2;
// The position of no flag: the engine answers FLAG_NOT_FOUND.
const NO_FLAG = 0xffffffff;
const NO_PROPERTIES = [];
const encoder = new TextEncoder();

// The wasm instance's memory, set by whoever initializes the glue (engine.js).
let memory = null;
// Views of all of `memory`, made again when growth detaches the buffer (byteLength 0).
let bytes = new Uint8Array(0);
let words = new Int32Array(0);
// `evaluate`'s error codes by name: code -n is ERROR_CODES[n - 1].
let ERROR_CODES = [];

/** Gives the engine the wasm instance's memory (`exports.memory`). */
export function useMemory(wasmMemory) {
  memory = wasmMemory ?? null;
  ERROR_CODES = errorCodes();
  refreshViews();
}

function refreshViews() {
  bytes = new Uint8Array(memory.buffer);
  words = new Int32Array(memory.buffer);
}

// Verifiers by the `publicKeys` array they were made from, so a client passing the same array to
// every load imports its keys once.
const verifiers = new WeakMap();
function verifierFor(publicKeys) {
  let verifier = verifiers.get(publicKeys);
  if (verifier === undefined) {
    verifier = Verifier.create(publicKeys);
    verifiers.set(publicKeys, verifier);
    verifier.catch(() => verifiers.delete(publicKeys));
  }
  return verifier;
}

// Every `Engine` of this realm, so a restart can move them to the new instance: held weakly where
// the runtime has `WeakRef` (workerd has not; there an engine lives until `free()`, as
// wasm-bindgen's own objects do).
const engines = new Set();
const holdWeakly = typeof WeakRef === 'function';
// Every wasm object of the current instance, held strongly, so wasm-bindgen's own finalizer never
// frees one: after a restart it would free an old pointer into the new instance. They are freed
// here instead, when their `Engine` is collected, and only if they belong to the current instance.
const wasmEngines = new Set();
const collected = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((wasmEngine) => {
    if (wasmEngines.delete(wasmEngine)) wasmEngine.free();
  })
  : null;

/** One namespace's compiled snapshot; evaluations are synchronous. */
export class Engine {
  #wasm;
  #maxBytes;
  // The bytes the loaded snapshot came from, to load it again into a new instance.
  #lastGood = null;
  // When the loaded snapshot was signed (a BigInt), if it was checked: older ones are refused.
  #issuedAt = null;
  #ref = holdWeakly ? new WeakRef(this) : { deref: () => this };
  // The loaded snapshot as described: `{namespace, digest, reasons, flags: Map, list}`.
  #snapshot = null;
  // The scratch regions: byte address and length, and the word index of the result words.
  #bytesAt = 0;
  #bytesLength = 0;
  #resultAt = 0;
  // Counts evaluations: one that changed during a context read had another run inside it.
  #epoch = 0;

  /** `maxBytes`: the largest snapshot `load` accepts, checked before any of it reaches wasm. */
  constructor({ maxBytes = DEFAULT_MAX_SNAPSHOT_BYTES } = {}) {
    this.#maxBytes = maxBytes;
    this.#adopt();
    engines.add(this.#ref);
  }

  /** A new wasm object of the current instance for this engine. */
  #adopt() {
    this.#wasm = new WasmEngine();
    wasmEngines.add(this.#wasm);
    collected?.unregister(this);
    collected?.register(this, this.#wasm, this);
  }

  /**
   * A compiled snapshot's bytes (the document or its signed envelope, plain, gzip or zlib). With
   * `namespace`, a snapshot of another namespace is refused. With `publicKeys`, it is loaded
   * only if signed by one of them (for `environment`, when given) and not issued before the one
   * loaded, and a promise is returned. Throws (or rejects) a VexilError; the old one stays.
   */
  load(data, { namespace, publicKeys, environment } = {}) {
    const input = snapshotBytes(data);
    const size = input?.byteLength ?? input?.length;
    if (typeof size === 'number' && size > this.#maxBytes) {
      const error = new VexilError('TOO_LARGE', `the snapshot is larger than ${this.#maxBytes} bytes (maxSnapshotBytes)`);
      if (publicKeys !== undefined) return Promise.reject(error);
      throw error;
    }
    if (publicKeys === undefined) {
      const compression = input instanceof Uint8Array ? compressionOf(input) : null;
      if (compression !== null) {
        throw new VexilError('BAD_SNAPSHOT', `the snapshot is ${compression} data: load() takes it uncompressed (Client.start inflates a compressed seed, as does load() with publicKeys)`);
      }
      return this.#commit(input, namespace, null);
    }
    return this.#loadSigned(input, namespace, publicKeys, environment);
  }

  async #loadSigned(input, namespace, publicKeys, environment) {
    if (!(input instanceof Uint8Array)) {
      throw new VexilError('BAD_SIGNATURE', 'a signed snapshot is bytes (a Uint8Array)');
    }
    const verifier = await verifierFor(publicKeys);
    const document = await uncompressed(input, this.#maxBytes);
    const { issuedAt } = await verifier.check(document, { environment, notBefore: this.#issuedAt });
    // Checked again now: another load may have finished while this one was verified.
    if (this.#issuedAt !== null && issuedAt < this.#issuedAt) {
      throw new VexilError('BAD_SIGNATURE', `the snapshot was issued at ${issuedAt}, before the one loaded (${this.#issuedAt})`);
    }
    return this.#commit(document, namespace, issuedAt);
  }

  #commit(input, namespace, issuedAt) {
    try {
      this.#wasm.load(input, namespace);
      this.#describe();
    } catch (error) {
      const reason = recovered(error, 'BAD_SNAPSHOT');
      throw new VexilError('BAD_SNAPSHOT', `snapshot not loaded (the previous one stays): ${reason.message}`, { cause: reason });
    }
    // Only now is it good: a trap in describe() restarts with the previous one. A copy, so a
    // caller reusing its buffer cannot change what a restart reloads.
    this.#lastGood = input instanceof Uint8Array ? input.slice() : input;
    if (issuedAt !== null) this.#issuedAt = issuedAt;
    const snapshot = this.#snapshot;
    return { namespace: snapshot.namespace, digest: snapshot.digest, flags: snapshot.list.length };
  }

  /** `{flagKey, match, reason, variantKey, variantAttachment, segmentKeys}`. */
  evaluateVariant(flagKey, entityId, context) {
    const flag = this.#snapshot?.flags.get(typeof flagKey === 'string' ? flagKey : checkedKey(flagKey));
    const code = this.#evaluate(flag, ASK_VARIANT, flagKey, entityId, context);
    return this.#variant(flag, code);
  }

  /** `{flagKey, enabled, reason, segmentKeys}`. */
  evaluateBoolean(flagKey, entityId, context) {
    const flag = this.#snapshot?.flags.get(typeof flagKey === 'string' ? flagKey : checkedKey(flagKey));
    const code = this.#evaluate(flag, ASK_BOOLEAN, flagKey, entityId, context);
    return this.#boolean(flag, code);
  }

  /**
   * Each request by its flag's type, as Flipt's batch: `{responses: [...]}`. Takes an array of
   * `{flagKey, entityId, context, namespaceKey?}` or `{requests}`; a flag or namespace this
   * snapshot does not have is an error entry.
   */
  evaluateBatch(requests) {
    const inner = field(requests, 'requests');
    const list = Array.isArray(inner) ? inner : requests;
    if (!Array.isArray(list)) throw new VexilError('EVALUATION', 'evaluateBatch() takes an array of requests');
    if (this.#snapshot === null) throw this.#error('NO_SNAPSHOT');
    const namespace = this.namespace;
    const responses = [];
    for (let position = 0; position < list.length; position++) {
      const request = list[position];
      const flagKey = text(field(request, 'flagKey'));
      if (flagKey === undefined) throw new VexilError('EVALUATION', `requests[${position}].flagKey must be a string`);
      const namespaceKey = text(field(request, 'namespaceKey')) ?? '';
      const flag = this.#flag(flagKey);
      if ((namespaceKey !== '' && namespaceKey !== namespace) || flag === undefined) {
        responses.push(errorItem(flagKey, namespaceKey || namespace));
        continue;
      }
      const entityId = text(field(request, 'entityId')) ?? '';
      const code = this.#evaluate(flag, ASK_ANY, flagKey, entityId, field(request, 'context'));
      responses.push(batchItem(flag, flag.variant ? this.#variant(flag, code) : this.#boolean(flag, code)));
    }
    return { responses };
  }

  /** `[{key, type, enabled}]` in snapshot order. */
  listFlags() {
    return this.#snapshot === null ? [] : this.#snapshot.list.map(flagInfo);
  }

  /** The loaded snapshot's digest: the SHA-256 of its bytes (`""` before a load). */
  get digest() {
    return this.#snapshot?.digest ?? '';
  }

  /** The loaded snapshot's namespace key (`""` before a load). */
  get namespace() {
    return this.#snapshot?.namespace ?? '';
  }

  /** Releases the wasm memory of this engine. */
  free() {
    this.#snapshot = null;
    this.#lastGood = null;
    engines.delete(this.#ref);
    collected?.unregister(this);
    if (wasmEngines.delete(this.#wasm)) this.#wasm.free();
  }

  /**
   * Moves every engine of this realm to a new wasm instance, each with its last good snapshot.
   * The old instance's objects are detached without being freed (their pointers mean nothing in
   * the new instance). Should reloading a snapshot trap again, that instance is replaced too, and
   * the engine whose snapshot trapped starts empty: each attempt empties at most one engine, so
   * this ends, and healthy engines keep their snapshots.
   */
  static restart() {
    for (;;) {
      for (const wasmEngine of wasmEngines) wasmEngine.__destroy_into_raw();
      wasmEngines.clear();
      useMemory(reinstantiate().memory);
      let trapped = null;
      for (const ref of engines) {
        const engine = ref.deref();
        if (engine === undefined) engines.delete(ref);
        else if (!engine.#reattach()) {
          trapped = engine;
          break;
        }
      }
      if (trapped === null) return;
      trapped.#lastGood = null;
      trapped.#issuedAt = null;
    }
  }

  /** This engine in the new instance, with its last good snapshot; false if that trapped. */
  #reattach() {
    this.#snapshot = null;
    try {
      this.#adopt();
      if (this.#lastGood === null) return true;
      this.#wasm.load(this.#lastGood);
      this.#describe();
      return true;
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) return false;
      // It loaded once before, so this cannot happen; if it does, the engine starts empty (a
      // failed load leaves the fresh object as it was).
      this.#lastGood = null;
      this.#snapshot = null;
      return true;
    }
  }

  /**
   * Reads the loaded snapshot's keys and the scratch layout. The rest of a flag (its properties,
   * variants and segment groups) is read when it is first evaluated (`#details`).
   */
  #describe() {
    this.#snapshot = null;
    const [namespace, digest, reasons, keys, kinds] = JSON.parse(this.#wasm.describe());
    const flags = new Map();
    const list = keys.map((key, position) => {
      const kind = kinds.charCodeAt(position) - 48;
      const flag = {
        key,
        position,
        variant: (kind & 1) === 0,
        enabled: (kind & 2) === 2,
        properties: null,
        variants: null,
        groups: null,
      };
      flags.set(key, flag);
      return flag;
    });
    this.#layout(0);
    this.#snapshot = { namespace, digest, reasons, flags, list };
  }

  /** Fills in what evaluating `flag` needs, once per snapshot. */
  #details(flag) {
    const [properties, variants, groups] = JSON.parse(this.#wasm.describeFlag(flag.position));
    flag.properties = properties.map(internalized);
    flag.variants = variants.map(([key, attachment]) => ({ key, attachment }));
    flag.groups = groups;
    // The word region may have grown for this flag's properties.
    this.#layout(0);
  }

  #flag(flagKey) {
    const key = text(flagKey);
    return key === undefined ? undefined : this.#snapshot?.flags.get(key);
  }

  /** The variant result of a successful `evaluate`. */
  #variant(flag, code) {
    const at = this.#resultAt;
    const keys = segmentKeys(flag.groups[words[at + 1]], words[at + 2], words[at + 3]);
    return variantResult(flag, (code & 1) === 1, this.#snapshot.reasons[code >> 1], words[at], keys);
  }

  /** The boolean result of a successful `evaluate`. */
  #boolean(flag, code) {
    const at = this.#resultAt;
    const keys = segmentKeys(flag.groups[words[at + 1]], words[at + 2], words[at + 3]);
    return booleanResult(flag, (code & 1) === 1, this.#snapshot.reasons[code >> 1], keys);
  }

  /** Reads where the scratch regions are, making the byte region at least `minBytes` long. */
  #layout(minBytes) {
    const [bytesAt, bytesLength, wordsAt] = this.#wasm.scratchLayout(minBytes);
    this.#bytesAt = bytesAt;
    this.#bytesLength = bytesLength;
    this.#resultAt = wordsAt >>> 2;
    refreshViews();
  }

  /**
   * Reads the context, writes the inputs and calls `evaluate`: its code (bit 0 matched or
   * enabled, the reason's code above). Throws a VexilError for the engine's error codes.
   */
  #evaluate(flag, ask, flagKey, entityId, context) {
    const entity = typeof entityId === 'string' ? entityId : text(entityId);
    if (entity === undefined) throw new VexilError('EVALUATION', 'entityId must be a string');
    if (flag !== undefined && flag.properties === null) this.#details(flag);
    const names = flag === undefined ? NO_PROPERTIES : flag.properties;
    let code;
    try {
      if (bytes.byteLength === 0) refreshViews();
      const entityLength = this.#write(entity, 0);
      // Values are written as they are read. A getter that evaluates again overwrites the
      // scratch region: then they are read again into an array first (the getters run twice).
      const epoch = ++this.#epoch;
      const snapshot = this.#snapshot;
      let valuesLength = this.#writeContext(names, context, entityLength, null);
      if (this.#epoch !== epoch) {
        const values = this.#readContext(names, context);
        this.#write(entity, 0);
        valuesLength = this.#writeContext(names, null, entityLength, values);
      }
      // A getter may even have loaded another snapshot, where the position means another flag.
      if (this.#snapshot !== snapshot) throw new VexilError('EVALUATION', 'the snapshot changed while the context was read');
      // evaluate allocates nothing: the views stay valid.
      code = this.#wasm.evaluate(flag?.position ?? NO_FLAG, ask, entityLength, valuesLength);
    } catch (error) {
      throw recovered(error, 'EVALUATION');
    }
    if (code >= 0) return code;
    throw this.#error(ERROR_CODES[-code - 1], flagKey);
  }

  /**
   * Writes the values of the properties `names` (from `context`, or from `values` when read
   * already) after the entity id; returns their bytes. Per property, two words: where its value
   * starts and its length (-1: absent).
   */
  #writeContext(names, context, entityLength, values) {
    const readable = context !== null && typeof context === 'object';
    let valuesLength = 0;
    for (let i = 0; i < names.length; i++) {
      const read = values !== null ? values[i] : readable ? context[names[i]] : undefined;
      const value = typeof read === 'string' ? read : text(read);
      const at = this.#resultAt + 4 + 2 * i;
      if (value === undefined) {
        words[at + 1] = -1;
      } else {
        const written = this.#write(value, entityLength + valuesLength);
        words[at] = valuesLength;
        words[at + 1] = written;
        valuesLength += written;
      }
    }
    return valuesLength;
  }

  /** The values of the properties `names` in `context`, as text. */
  #readContext(names, context) {
    const readable = context !== null && typeof context === 'object';
    return names.map((name) => text(readable ? context[name] : undefined));
  }

  /** The VexilError for one of the engine's error codes. */
  #error(name, flagKey) {
    const namespace = this.namespace;
    switch (name) {
      case 'FLAG_NOT_FOUND':
        return new VexilError('FLAG_NOT_FOUND', `flag "${flagKey}" not found in namespace "${namespace}"`);
      case 'TYPE_MISMATCH': {
        const flag = this.#flag(flagKey);
        const [actual, asked] = flag?.variant ? ['variant', 'evaluateVariant'] : ['boolean', 'evaluateBoolean'];
        return new VexilError('TYPE_MISMATCH', `flag "${flagKey}" in namespace "${namespace}" is a ${actual} flag: use ${asked}()`);
      }
      case 'NO_SNAPSHOT':
        return new VexilError('EVALUATION', 'no snapshot loaded: call load() first');
      default:
        return new VexilError('EVALUATION', `the engine could not evaluate flag "${flagKey}" (${name})`);
    }
  }

  /** Writes `text` as UTF-8 at `offset` in the scratch bytes; returns the bytes written. */
  #write(value, offset) {
    const count = value.length;
    if (offset + count * 3 > this.#bytesLength) {
      this.#layout(offset + count * 3);
    }
    const start = this.#bytesAt + offset;
    const view = bytes;
    // ASCII byte by byte (what wasm-bindgen does too: cheaper than a call for short strings).
    let i = 0;
    for (; i < count; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      view[start + i] = code;
    }
    if (i === count) return count;
    const end = this.#bytesAt + this.#bytesLength;
    const { written } = encoder.encodeInto(value.slice(i), view.subarray(start + i, end));
    return i + written;
  }
}

/** A flag key as text (numbers as JS prints them), or an EVALUATION error. */
function checkedKey(flagKey) {
  const key = text(flagKey);
  if (key === undefined) throw new VexilError('EVALUATION', 'flagKey must be a string');
  return key;
}

/** Bytes as a Uint8Array; anything else is passed on for the engine to refuse by name. */
function snapshotBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return data;
}

/**
 * The same string as a property key (V8 interns keys). Strings made from wasm memory are not
 * interned, and reading a property by one would hash and look it up on every evaluation.
 */
function internalized(name) {
  return Object.keys({ [name]: 0 })[0];
}

/** A property as the engine reads a request's: absent unless the request is an object. */
function field(object, name) {
  if (object === null || (typeof object !== 'object' && typeof object !== 'function')) return undefined;
  try {
    return object[name];
  } catch {
    return undefined;
  }
}

/** Strings as they are; numbers, booleans and bigints as JS prints them; the rest absent. */
function text(value) {
  const type = typeof value;
  if (type === 'string') return value;
  return type === 'number' || type === 'boolean' || type === 'bigint' ? String(value) : undefined;
}

/**
 * The error to throw for `error`: a trap restarts the engines first (so the next call answers),
 * and says so, as a VexilError with `code`; any other error is itself.
 */
function recovered(error, code) {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  Engine.restart();
  return new VexilError(code, `the wasm engine trapped (${error.message}) and was restarted with the last good snapshot`, { cause: error });
}
