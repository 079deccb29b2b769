// Checking a signed compiled snapshot before it is loaded (docs/compiled-snapshot.md, "Signed
// snapshots"): WebCrypto's Ed25519, which Node 20, Chromium, Deno and workerd have. The wasm
// engine carries no cryptography; it is handed only bytes checked here.
//
//   signed  = "VXLS" · version 1 · key id [8] · issued-at u64 LE · environment (u8 length, UTF-8)
//           · signature [64] · document
//   message = "vexil signed snapshot v1\n" · key id · issued-at · environment (length, bytes)
//           · document

import { VexilError } from './errors.js';

const SIGNED_MAGIC = [0x56, 0x58, 0x4c, 0x53]; // "VXLS"
const DOCUMENT_MAGIC = [0x56, 0x58, 0x4c, 0x43]; // "VXLC"
const ENVELOPE_VERSION = 1;
const DOMAIN = new TextEncoder().encode('vexil signed snapshot v1\n');
const KEY_ID_BYTES = 8;
const SIGNATURE_BYTES = 64;
const ED25519 = { name: 'Ed25519' };

const badSignature = (message) => new VexilError('BAD_SIGNATURE', message);

/** A public key as `vexil keygen` prints it (base64url of the raw 32 bytes), or the bytes. */
function rawPublicKey(key) {
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    const raw = new Uint8Array(key);
    if (raw.byteLength === 32) return raw;
  } else if (typeof key === 'string' && /^[A-Za-z0-9_-]{43}=?$/.test(key.trim())) {
    const base64 = key.trim().replace(/=$/, '').replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(`${base64}=`);
    const raw = Uint8Array.from(binary, (character) => character.charCodeAt(0));
    if (raw.byteLength === 32) return raw;
  }
  throw new TypeError('publicKeys: each key is 32 bytes, or their base64url as `vexil keygen` prints it');
}

function subtleCrypto() {
  const subtle = globalThis.crypto?.subtle;
  if (typeof subtle?.importKey !== 'function' || typeof subtle?.verify !== 'function') {
    throw new VexilError('SIGNATURE_UNSUPPORTED', 'this runtime has no WebCrypto (crypto.subtle): signed snapshots cannot be checked here');
  }
  return subtle;
}

/** A hex string of bytes, for messages. */
const hex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');

/** The keys a snapshot may be signed with (several at once while keys rotate). */
export class Verifier {
  #keys;

  constructor(keys) {
    this.#keys = keys;
  }

  /**
   * Imports the keys; rejects with `SIGNATURE_UNSUPPORTED` where WebCrypto has no Ed25519, and
   * with a TypeError for a key that is not one.
   */
  static async create(publicKeys) {
    if (!Array.isArray(publicKeys) || publicKeys.length === 0) {
      throw new TypeError('publicKeys must be a non-empty array of Ed25519 public keys');
    }
    const subtle = subtleCrypto();
    const keys = new Map();
    for (const key of publicKeys) {
      const raw = rawPublicKey(key);
      let imported;
      try {
        imported = await subtle.importKey('raw', raw, ED25519, false, ['verify']);
      } catch (error) {
        if (error?.name === 'NotSupportedError' || error instanceof TypeError) {
          throw new VexilError('SIGNATURE_UNSUPPORTED', `this runtime's WebCrypto has no Ed25519: signed snapshots cannot be checked here (${error.message})`, { cause: error });
        }
        throw new TypeError(`publicKeys: not an Ed25519 public key (${error.message})`, { cause: error });
      }
      const id = hex(new Uint8Array(await subtle.digest('SHA-256', raw)).subarray(0, KEY_ID_BYTES));
      keys.set(id, imported);
    }
    return new Verifier(keys);
  }

  /**
   * Checks a signed snapshot (uncompressed bytes): a known key id, a good signature, the
   * environment it was signed for, and not issued before `notBefore` (seconds, a BigInt).
   * Resolves `{issuedAt, keyId}`; rejects with `BAD_SIGNATURE`.
   */
  async check(bytes, { environment, notBefore = null } = {}) {
    const envelope = openEnvelope(bytes);
    const key = this.#keys.get(envelope.keyId);
    if (key === undefined) throw badSignature(`the snapshot is signed with key ${envelope.keyId}, which is not among publicKeys`);
    const subtle = subtleCrypto();
    const good = await subtle.verify(ED25519, key, envelope.signature, signedMessage(bytes, envelope));
    if (!good) throw badSignature('the snapshot\'s signature does not hold: it was changed after signing, or signed by another key');
    if (environment !== undefined && envelope.environment !== environment) {
      throw badSignature(`the snapshot is signed for environment "${envelope.environment}", not "${environment}"`);
    }
    if (notBefore !== null && envelope.issuedAt < notBefore) {
      throw badSignature(`the snapshot was issued at ${envelope.issuedAt}, before the one loaded (${notBefore}): an older revision is not taken back`);
    }
    return { issuedAt: envelope.issuedAt, keyId: envelope.keyId };
  }
}

/** The envelope's fields, every length checked against the bytes there are. */
function openEnvelope(bytes) {
  const starts = (magic) => magic.every((byte, i) => bytes[i] === byte);
  if (starts(DOCUMENT_MAGIC)) throw badSignature('the snapshot is not signed (publicKeys are set, so only signed snapshots are taken)');
  if (!starts(SIGNED_MAGIC)) throw badSignature('not a signed compiled snapshot');
  if (bytes[4] !== ENVELOPE_VERSION) throw badSignature(`signed snapshot envelope version ${bytes[4]} is not known to this SDK`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keyIdAt = 5;
  const issuedAt = keyIdAt + KEY_ID_BYTES;
  const environmentAt = issuedAt + 8;
  if (bytes.byteLength < environmentAt + 1) throw badSignature('the signed snapshot is cut short');
  const environmentLength = bytes[environmentAt];
  const signatureAt = environmentAt + 1 + environmentLength;
  const documentAt = signatureAt + SIGNATURE_BYTES;
  if (bytes.byteLength < documentAt) throw badSignature('the signed snapshot is cut short');
  let environment;
  try {
    environment = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(environmentAt + 1, signatureAt));
  } catch {
    throw badSignature('the signed snapshot\'s environment is not UTF-8');
  }
  return {
    keyId: hex(bytes.subarray(keyIdAt, issuedAt)),
    issuedAt: view.getBigUint64(issuedAt, true),
    environment,
    environmentBytes: bytes.subarray(environmentAt, signatureAt),
    signature: bytes.subarray(signatureAt, documentAt),
    documentAt,
  };
}

/** What was signed: the domain, key id, issued-at, environment and document. */
function signedMessage(bytes, envelope) {
  const keyAndTime = bytes.subarray(5, 5 + KEY_ID_BYTES + 8);
  const document = bytes.subarray(envelope.documentAt);
  const message = new Uint8Array(DOMAIN.byteLength + keyAndTime.byteLength + envelope.environmentBytes.byteLength + document.byteLength);
  let at = 0;
  for (const part of [DOMAIN, keyAndTime, envelope.environmentBytes, document]) {
    message.set(part, at);
    at += part.byteLength;
  }
  return message;
}
