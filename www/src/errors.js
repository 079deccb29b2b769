// Errors the SDK reports, each with a `code` a program can branch on.

export class VexilError extends Error {
  /**
   * @param {string} code FLAG_NOT_FOUND, TYPE_MISMATCH, EVALUATION, HTTP, NETWORK, TIMEOUT,
   *   TOO_LARGE, BAD_SNAPSHOT, BAD_SIGNATURE, SIGNATURE_UNSUPPORTED, STREAM, CLOSED
   */
  constructor(code, message, options) {
    super(message, options);
    this.name = 'VexilError';
    this.code = code;
  }
}
