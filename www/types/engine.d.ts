// The wasm engine and its initialization.

import type { BatchRequest, BatchResponse, BooleanEvaluation, Context, FlagInfo, VariantEvaluation } from './client.js';

/** One namespace's snapshot, compiled; evaluations are synchronous. */
export declare class Engine {
  /** `maxBytes`: the largest snapshot `load` accepts (default 64 MiB), checked before wasm. */
  constructor(options?: { maxBytes?: number });
  /**
   * JSON text, or bytes that are JSON, gzip or zlib; with `namespace`, a snapshot of another
   * namespace is refused. Throws on bad input; the old one stays. A trap in the wasm engine
   * restarts it with the last good snapshot (the trapping call throws).
   */
  load(data: string | Uint8Array, options?: { namespace?: string }): { namespace: string; digest: string; flags: number };
  evaluateVariant(flagKey: string, entityId: string, context?: Context | null): VariantEvaluation;
  evaluateBoolean(flagKey: string, entityId: string, context?: Context | null): BooleanEvaluation;
  evaluateBatch(requests: BatchRequest[] | { requests: BatchRequest[] }): BatchResponse;
  listFlags(): FlagInfo[];
  readonly digest: string;
  readonly namespace: string;
  /** Releases the wasm memory of this engine. */
  free(): void;
}

/** A compiled module or the `.wasm` bytes (synchronous), or a URL or Response to fetch. */
export declare function init(input?: WebAssembly.Module | BufferSource | URL | string | Response): Promise<void>;
export declare function initFromModule(module: WebAssembly.Module | BufferSource): void;
export declare function initFromBytes(bytes: BufferSource): void;
export declare function initFromUrl(url?: URL | string | Response): Promise<void>;
export declare function isEngineReady(): boolean;
