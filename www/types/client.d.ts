// The Client and the types every entry point shares.

/** A context: property name to value; numbers and booleans are read as JS prints them. */
export type Context = Record<string, string | number | boolean | null | undefined>;

export interface EvaluationRequest {
  flagKey: string;
  entityId?: string;
  context?: Context;
}

export interface BatchRequest extends EvaluationRequest {
  /** When set and not the loaded namespace, the answer is a not-found error item. */
  namespaceKey?: string;
}

export type EvaluationReason =
  | 'MATCH_EVALUATION_REASON'
  | 'DEFAULT_EVALUATION_REASON'
  | 'FLAG_DISABLED_EVALUATION_REASON'
  | 'UNKNOWN_EVALUATION_REASON';

export interface VariantEvaluation {
  flagKey: string;
  match: boolean;
  reason: EvaluationReason;
  variantKey: string;
  /** The variant's attachment as JSON text, `""` when none. */
  variantAttachment: string;
  segmentKeys: string[];
}

export interface BooleanEvaluation {
  flagKey: string;
  enabled: boolean;
  reason: EvaluationReason;
  segmentKeys: string[];
}

export type BatchItem =
  | { type: 'VARIANT_EVALUATION_RESPONSE_TYPE'; variantResponse: VariantEvaluation }
  | { type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE'; booleanResponse: BooleanEvaluation }
  | {
    type: 'ERROR_EVALUATION_RESPONSE_TYPE';
    errorResponse: { flagKey: string; namespaceKey: string; reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' };
  };

export interface BatchResponse {
  responses: BatchItem[];
}

export type FlagType = 'VARIANT_FLAG_TYPE' | 'BOOLEAN_FLAG_TYPE';

export interface FlagInfo {
  key: string;
  type: FlagType;
  enabled: boolean;
}

/**
 * A compiled snapshot's bytes (`vexil snapshot --format compiled`, or what the server sends for
 * `Accept: application/vnd.vexil.snapshot`): the document or its signed envelope, plain, gzip
 * or zlib.
 */
export type SnapshotInput = Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * An Ed25519 public key: the base64url text `vexil keygen` prints, or the raw 32 bytes. Several
 * may be given while keys rotate.
 */
export type PublicKey = string | Uint8Array | ArrayBuffer;

export interface ClientOptions {
  /** vexil's base URL. Without it the client answers from `seed` and never syncs. */
  url?: string;
  /** Default `"default"`. */
  namespace?: string;
  /** The server's environment (Flipt v2's environments; `vexil serve --environment`). Default `"default"`. */
  environment?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** A compiled snapshot to answer from at once, before (or without) any server. */
  seed?: SnapshotInput;
  /**
   * Take only snapshots signed by one of these keys, for `environment`, and none issued before
   * the one loaded; anything else is refused with `BAD_SIGNATURE` (the last good one stays). A
   * runtime without WebCrypto's Ed25519 refuses with `SIGNATURE_UNSUPPORTED`.
   */
  publicKeys?: PublicKey[];
  /** Follow the push stream (default true); false polls every `pollIntervalMs`. */
  stream?: boolean;
  /** Polling period when not streaming (default 30 000). */
  pollIntervalMs?: number;
  /** Retry delays after failures: exponential with jitter (default 1 000 to 30 000 ms). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** A stream silent this long is reconnected (default 45 000: three keep-alives). */
  streamIdleTimeoutMs?: number;
  /** How long `Client.start` waits for the first snapshot (default 10 000); then `TIMEOUT`. */
  timeoutMs?: number;
  /** The largest snapshot accepted, counted as it downloads (default 64 MiB); then `TOO_LARGE`. */
  maxSnapshotBytes?: number;
  /** The longest push-stream line (default 65 536 characters); a longer one ends the stream. */
  maxStreamLineLength?: number;
  /** The largest push-stream event (default 1 MiB of characters). */
  maxStreamEventLength?: number;
  /** Default `globalThis.fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
}

export type VexilErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'EVALUATION'
  | 'NETWORK'
  | 'HTTP'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'BAD_SNAPSHOT'
  | 'BAD_SIGNATURE'
  | 'SIGNATURE_UNSUPPORTED'
  | 'STREAM'
  | 'CLOSED';

export declare class VexilError extends Error {
  readonly code: VexilErrorCode;
  /** HTTP status, on `HTTP` errors from the stream. */
  readonly status?: number;
}

export interface ChangeEvent {
  namespace: string;
  digest: string;
  previousDigest: string | null;
  /** Number of flags in the new snapshot. */
  flags: number;
}

export interface ClientEvents {
  change: ChangeEvent;
  error: VexilError;
  recover: { digest: string };
}

export declare class Client {
  private constructor();
  /** Resolves once a snapshot is loaded (the seed at once, else the first fetch). */
  static start(options: ClientOptions): Promise<Client>;
  /** Throws VexilError `FLAG_NOT_FOUND` or `TYPE_MISMATCH`. */
  evaluateVariant(request: EvaluationRequest): VariantEvaluation;
  /** Throws VexilError `FLAG_NOT_FOUND` or `TYPE_MISMATCH`. */
  evaluateBoolean(request: EvaluationRequest): BooleanEvaluation;
  evaluateBatch(requests: BatchRequest[] | { requests: BatchRequest[] }): BatchResponse;
  listFlags(): FlagInfo[];
  getFlag(flagKey: string): FlagInfo | undefined;
  readonly namespace: string;
  /** The server environment the client follows. */
  readonly environment: string;
  readonly digest: string;
  /** True after a failed sync, until the next good one. */
  readonly stale: boolean;
  readonly closed: boolean;
  /** Returns the unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  /** Resolves whether the snapshot changed; rejects (keeping the old one) on failure. */
  refresh(): Promise<boolean>;
  /** Stops the stream and timers; evaluations keep answering. */
  close(): void;
}
