// The few assertions the Deno tests need, with no imports (Deno's std would be a download, and
// `node:assert` would make Deno want @types/node for its type check).

export class AssertionError extends Error {}

export function assert(condition, message = 'assertion failed') {
  if (!condition) throw new AssertionError(message);
}

/** Structural equality of JSON-like values (key order does not matter). */
export function assertEquals(actual, expected, message = '') {
  if (!equal(actual, expected)) {
    throw new AssertionError(`${message ? `${message}: ` : ''}values differ\n  actual:   ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`);
  }
}

/** `fn` throws an `ErrorClass` whose message contains `includes`. */
export function assertThrows(fn, ErrorClass = Error, includes = '') {
  try {
    fn();
  } catch (error) {
    assert(error instanceof ErrorClass, `threw ${error?.constructor?.name}, not ${ErrorClass.name}: ${error?.message}`);
    assert(String(error.message).includes(includes), `error message ${JSON.stringify(error.message)} lacks ${JSON.stringify(includes)}`);
    return error;
  }
  throw new AssertionError('expected an exception, none was thrown');
}

function equal(a, b) {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && equal(a[key], b[key]));
}
