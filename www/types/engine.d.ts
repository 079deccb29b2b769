// The wasm engine and its initialization.

import type { BatchRequest, BatchResponse, BooleanEvaluation, Context, FlagInfo, PublicKey, SnapshotInput, VariantEvaluation } from './client.js';

/** What a load reports. */
export interface LoadResult {
  namespace: string;
  /** The SHA-256 of the snapshot's bytes, in hex: the server's ETag and immutable URL for it. */
  digest: string;
  /** Number of flags. */
  flags: number;
}

export interface LoadOptions {
  /** Refuse a snapshot of another namespace. */
  namespace?: string;
}

export interface SignedLoadOptions extends LoadOptions {
  /** Load only a snapshot signed by one of these keys (and not issued before the one loaded). */
  publicKeys: PublicKey[];
  /** Refuse a snapshot signed for another environment. */
  environment?: string;
}

/** One namespace's compiled snapshot; evaluations are synchronous. */
export declare class Engine {
  /** `maxBytes`: the largest snapshot `load` accepts (default 64 MiB), checked before wasm. */
  constructor(options?: { maxBytes?: number });
  /**
   * A compiled snapshot's bytes, uncompressed. Throws a VexilError (`BAD_SNAPSHOT`,
   * `TOO_LARGE`); the old one stays. A trap in the wasm engine restarts it with the last good
   * snapshot (the trapping call throws).
   */
  load(data: SnapshotInput, options?: LoadOptions): LoadResult;
  /**
   * With `publicKeys`: verifies the signature first (WebCrypto, asynchronous), and also takes
   * compressed bytes. Rejects with `BAD_SIGNATURE`, `SIGNATURE_UNSUPPORTED`, `BAD_SNAPSHOT` or
   * `TOO_LARGE`; the old one stays.
   */
  load(data: SnapshotInput, options: SignedLoadOptions): Promise<LoadResult>;
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
