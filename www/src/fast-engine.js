// The SDK's `Engine`: the wasm engine's own methods, with evaluations taken through its numeric
// path (crates/vexil-wasm/src/fast.rs), which is several times cheaper per call.
//
// At each load the engine describes the snapshot once (flag keys and positions, the context
// properties each flag reads, variant keys and attachments, each rule's or rollout's segment
// keys), so every string a result holds is made here once per revision. An evaluation maps the
// flag key to its position with a `Map`, writes the entity id and that flag's property values
// into a scratch region of wasm memory, calls `evaluateAt` with two integers and builds the result
// from integers it reads back. Anything the numeric path does not answer (an unknown flag, the
// other type, a non-string entity id, no snapshot) goes through the engine's string methods, which
// answer or throw exactly as before.
//
// A trap (a `WebAssembly.RuntimeError`: the engine ran out of memory, or a bug) leaves the wasm
// instance unusable for every engine in it. So any call that traps re-instantiates the module
// (a new `WebAssembly.Instance` with fresh memory) and every live engine reloads its last good
// snapshot into it; the call that trapped throws, the next ones answer.

import { Engine as WasmEngine, reinstantiate } from '../pkg/vexil_wasm.js';

/** The largest snapshot `load` passes to wasm, by default (64 MiB, as the engine inflates to). */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

const VARIANT = 'VARIANT_FLAG_TYPE';
const NO_VARIANT = { key: '', attachment: '' };
const encoder = new TextEncoder();

// The wasm instance's memory, set by whoever initializes the glue (engine.js); without it every
// evaluation takes the string path.
let memory = null;
// Views of all of `memory`, made again when growth detaches the buffer (byteLength 0).
let bytes = new Uint8Array(0);
let words = new Int32Array(0);

/** Gives the numeric path the wasm instance's memory (`exports.memory`). */
export function useMemory(wasmMemory) {
  memory = wasmMemory ?? null;
}

function refreshViews() {
  bytes = new Uint8Array(memory.buffer);
  words = new Int32Array(memory.buffer);
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

/** One namespace's snapshot, compiled; evaluations are synchronous. */
export class Engine {
  #wasm;
  #maxBytes;
  // What the loaded snapshot was loaded from, to load it again into a new instance.
  #lastGood = null;
  #ref = holdWeakly ? new WeakRef(this) : { deref: () => this };
  // Per revision: flag key → described flag; null until a load (or without memory).
  #flags = null;
  #reasons = [];
  // The scratch regions: byte address and length, and the word index of the result words.
  #bytesAt = 0;
  #bytesLength = 0;
  #resultAt = 0;
  // Set while an evaluation fills the scratch region: a context getter evaluating again
  // re-enters, and must not overwrite it.
  #busy = false;

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
   * JSON text, or bytes that are JSON, gzip or zlib. With `namespace`, a snapshot of another
   * namespace is refused. Throws on bad input; the old one stays.
   */
  load(data, { namespace } = {}) {
    const size = typeof data === 'string' ? data.length : data?.byteLength;
    if (typeof size === 'number' && size > this.#maxBytes) {
      throw new Error(`the snapshot is larger than ${this.#maxBytes} bytes (maxSnapshotBytes)`);
    }
    try {
      const loaded = this.#wasm.load(data, namespace);
      this.#describe();
      // Only now is it good: a trap in describe() restarts with the previous one.
      this.#lastGood = data;
      return loaded;
    } catch (error) {
      throw recovered(error);
    }
  }

  /** `{flagKey, match, reason, variantKey, variantAttachment, segmentKeys}`. */
  evaluateVariant(flagKey, entityId, context) {
    try {
      return this.#variant(flagKey, entityId, context);
    } catch (error) {
      throw recovered(error);
    }
  }

  /** `{flagKey, enabled, reason, segmentKeys}`. */
  evaluateBoolean(flagKey, entityId, context) {
    try {
      return this.#boolean(flagKey, entityId, context);
    } catch (error) {
      throw recovered(error);
    }
  }

  #variant(flagKey, entityId, context) {
    const flag = this.#flags?.get(flagKey);
    const code = flag?.variant === true ? this.#evaluate(flag, entityId, context) : -1;
    if (code < 0) return this.#wasm.evaluateVariant(flagKey, entityId, context);
    const at = this.#resultAt;
    const position = words[at];
    const variant = position >= 0 ? flag.variants[position] : NO_VARIANT;
    return {
      flagKey: flag.key,
      match: (code & 1) === 1,
      reason: this.#reasons[code >> 1],
      variantKey: variant.key,
      variantAttachment: variant.attachment,
      segmentKeys: segmentKeys(flag.groups[words[at + 1]], words[at + 2], words[at + 3]),
    };
  }

  #boolean(flagKey, entityId, context) {
    const flag = this.#flags?.get(flagKey);
    const code = flag?.variant === false ? this.#evaluate(flag, entityId, context) : -1;
    if (code < 0) return this.#wasm.evaluateBoolean(flagKey, entityId, context);
    const at = this.#resultAt;
    return {
      flagKey: flag.key,
      enabled: (code & 1) === 1,
      reason: this.#reasons[code >> 1],
      segmentKeys: segmentKeys(flag.groups[words[at + 1]], words[at + 2], words[at + 3]),
    };
  }

  /**
   * Each request by its flag's type, as Flipt's batch: `{responses: [...]}`. Takes an array of
   * `{flagKey, entityId, context, namespaceKey?}` or `{requests}`; reads them as the engine does.
   */
  evaluateBatch(requests) {
    const flags = this.#flags;
    const inner = field(requests, 'requests');
    const list = Array.isArray(inner) ? inner : requests;
    if (flags === null || !Array.isArray(list)) {
      try {
        return this.#wasm.evaluateBatch(requests);
      } catch (error) {
        throw recovered(error);
      }
    }
    const namespace = this.#wasm.namespace;
    const responses = [];
    for (let position = 0; position < list.length; position++) {
      const request = list[position];
      const flagKey = text(field(request, 'flagKey'));
      if (flagKey === undefined) throw new Error(`requests[${position}].flagKey must be a string`);
      const entityId = text(field(request, 'entityId')) ?? '';
      const namespaceKey = text(field(request, 'namespaceKey')) ?? '';
      if (namespaceKey !== '' && namespaceKey !== namespace) {
        responses.push(errorItem(flagKey, namespaceKey));
        continue;
      }
      const flag = flags.get(flagKey);
      if (flag === undefined) {
        responses.push(errorItem(flagKey, namespace));
      } else if (flag.variant) {
        const variantResponse = this.evaluateVariant(flagKey, entityId, field(request, 'context'));
        responses.push({ type: 'VARIANT_EVALUATION_RESPONSE_TYPE', variantResponse });
      } else {
        const booleanResponse = this.evaluateBoolean(flagKey, entityId, field(request, 'context'));
        responses.push({ type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE', booleanResponse });
      }
    }
    return { responses };
  }

  /** `[{key, type, enabled}]` in snapshot order. */
  listFlags() {
    try {
      return this.#wasm.listFlags();
    } catch (error) {
      throw recovered(error);
    }
  }

  get digest() {
    return this.#wasm.digest;
  }

  get namespace() {
    return this.#wasm.namespace;
  }

  /** Releases the wasm memory of this engine. */
  free() {
    this.#flags = null;
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
      memory = reinstantiate().memory;
      refreshViews();
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
    }
  }

  /** This engine in the new instance, with its last good snapshot; false if that trapped. */
  #reattach() {
    this.#flags = null;
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
      this.#flags = null;
      return true;
    }
  }

  /** Caches the loaded snapshot's strings and the scratch layout. */
  #describe() {
    this.#flags = null;
    if (memory === null) return;
    const [reasons, flags] = this.#wasm.describe();
    const byKey = new Map();
    flags.forEach(([key, type, properties, variants, groups], position) => {
      byKey.set(key, {
        key,
        position,
        variant: type === VARIANT,
        properties: properties.map(internalized),
        variants: variants.map(([variantKey, attachment]) => ({ key: variantKey, attachment })),
        groups,
      });
    });
    this.#reasons = reasons;
    this.#layout(0);
    this.#flags = byKey;
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
   * Writes the inputs and calls `evaluateAt`: its code (bit 0 matched or enabled, the reason's
   * code above), or -1 when the string path must answer.
   */
  #evaluate(flag, entityId, context) {
    if (typeof entityId !== 'string' || this.#busy) return -1;
    this.#busy = true;
    try {
      if (bytes.byteLength === 0) refreshViews();
      const entityLength = this.#write(entityId, 0);
      let valuesLength = 0;
      const names = flag.properties;
      if (names.length !== 0) {
        const readable = context !== null && typeof context === 'object';
        for (let i = 0; i < names.length; i++) {
          const value = readable ? context[names[i]] : undefined;
          const type = typeof value;
          const text = type === 'string' ? value
            : type === 'number' || type === 'boolean' || type === 'bigint' ? String(value) : undefined;
          // Per property, where its value starts and its length (-1: absent).
          const at = this.#resultAt + 4 + 2 * i;
          if (text === undefined) {
            words[at + 1] = -1;
          } else {
            const written = this.#write(text, entityLength + valuesLength);
            words[at] = valuesLength;
            words[at + 1] = written;
            valuesLength += written;
          }
        }
      }
      // evaluateAt allocates nothing: the views stay valid.
      return this.#wasm.evaluateAt(flag.position, entityLength, valuesLength);
    } finally {
      this.#busy = false;
    }
  }

  /** Writes `text` as UTF-8 at `offset` in the scratch bytes; returns the bytes written. */
  #write(text, offset) {
    const count = text.length;
    if (offset + count * 3 > this.#bytesLength) {
      this.#layout(offset + count * 3);
    }
    const start = this.#bytesAt + offset;
    const view = bytes;
    // ASCII byte by byte (what wasm-bindgen does too: cheaper than a call for short strings).
    let i = 0;
    for (; i < count; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) break;
      view[start + i] = code;
    }
    if (i === count) return count;
    const end = this.#bytesAt + this.#bytesLength;
    const { written } = encoder.encodeInto(text.slice(i), view.subarray(start + i, end));
    return i + written;
  }
}

/** The keys of the group's segments whose bits are set in the mask (`low`, `high` halves). */
function segmentKeys(group, low, high) {
  const keys = [];
  if ((low | high) === 0) return keys;
  for (let bit = 0; bit < group.length; bit++) {
    const half = bit < 32 ? low : high;
    if ((half >>> (bit & 31)) & 1) keys.push(group[bit]);
  }
  return keys;
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

function errorItem(flagKey, namespaceKey) {
  return {
    type: 'ERROR_EVALUATION_RESPONSE_TYPE',
    errorResponse: { flagKey, namespaceKey, reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' },
  };
}

/**
 * The error to throw for `error`: a trap restarts the engines first (so the next call answers),
 * and says so; any other error is itself.
 */
function recovered(error) {
  if (!(error instanceof WebAssembly.RuntimeError)) return error;
  Engine.restart();
  return new Error(`the wasm engine trapped (${error.message}) and was restarted with the last good snapshot`, { cause: error });
}
