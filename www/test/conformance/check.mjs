// The conformance corpus (crates/vexil-eval/tests/conformance/) run by the SDK's engine. One
// `check()` for every runtime: it uses only what Node, Deno, workerd and browsers all have
// (WebCrypto's SHA-256, TextEncoder), and the caller hands it the engine and the files.
//
// An entry is `{cases, snapshot, compiled}`: `NAME.cases.json` parsed, `NAME.snapshot.json` as
// text and `NAME.compiled` as a Uint8Array (null where Vexil refuses the snapshot). Each case is
// answered twice, in one `evaluateBatch` and by `evaluateVariant` / `evaluateBoolean`, and
// compared with its expected answer: Flipt's, or Vexil's own where the case is marked as a
// deliberate difference. Segment keys are compared as sets (Flipt's order is random) and
// attachments as the JSON they hold.

const VARIANT = 'VARIANT_EVALUATION_RESPONSE_TYPE';
const BOOLEAN = 'BOOLEAN_EVALUATION_RESPONSE_TYPE';
const ERROR = 'ERROR_EVALUATION_RESPONSE_TYPE';

/** Lowercase hex SHA-256. */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Equality of JSON values. */
function sameJson(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
}

function sameAttachment(a, b) {
  if (a === b) return true;
  try {
    return sameJson(JSON.parse(a), JSON.parse(b));
  } catch {
    return false;
  }
}

/** The fields an answer is compared on, by its type. */
function normalized(type, body) {
  const segmentKeys = Array.isArray(body.segmentKeys) ? [...body.segmentKeys].sort() : body.segmentKeys;
  switch (type) {
    case VARIANT:
      return { type, flagKey: body.flagKey, match: body.match, reason: body.reason, variantKey: body.variantKey, variantAttachment: body.variantAttachment, segmentKeys };
    case BOOLEAN:
      return { type, flagKey: body.flagKey, enabled: body.enabled, reason: body.reason, segmentKeys };
    default:
      return { type, flagKey: body.flagKey, namespaceKey: body.namespaceKey, reason: body.reason };
  }
}

/** A batch response entry of the SDK, normalized. */
function fromBatch({ type, variantResponse, booleanResponse, errorResponse }) {
  return normalized(type, variantResponse ?? booleanResponse ?? errorResponse ?? {});
}

/** The names of the fields on which `actual` differs from `expected`. */
function differingFields(actual, expected) {
  const fields = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  return [...fields].filter((field) => (field === 'variantAttachment'
    ? !sameAttachment(actual[field], expected[field])
    : !sameJson(actual[field], expected[field])));
}

/** The same request through the single-flag method of its expected type. */
function evaluateSingle(engine, { flagKey, entityId, context }, expected) {
  try {
    if (expected.type === VARIANT) return normalized(VARIANT, engine.evaluateVariant(flagKey, entityId, context));
    if (expected.type === BOOLEAN) return normalized(BOOLEAN, engine.evaluateBoolean(flagKey, entityId, context));
    engine.evaluateBoolean(flagKey, entityId, context);
    return { answered: 'without an error' };
  } catch (error) {
    if (expected.type === ERROR && error?.code === 'FLAG_NOT_FOUND') return null;
    return { threw: `${error?.code ?? ''} ${error?.message ?? error}` };
  }
}

/**
 * Runs one corpus entry through `engine` (the SDK's `Engine`, fresh or reused). Returns
 * `{name, checked, failures}`: `checked` answers compared, `failures` one line each, empty
 * when the engine agrees with every case.
 */
export async function check({ cases: entry, snapshot, compiled }, engine) {
  const failures = [];
  const fail = (message) => failures.push(`${entry.name}: ${message}`);
  const snapshotDigest = await sha256(new TextEncoder().encode(snapshot));
  if (snapshotDigest !== entry.snapshotDigest) {
    fail(`the snapshot's SHA-256 is ${snapshotDigest}, not the pinned ${entry.snapshotDigest}: the corpus changed without being generated again`);
  }
  if (entry.refused !== undefined) {
    // No compiled form exists: the server refuses the snapshot (Rust checks the refusal).
    if (compiled !== null) fail('a snapshot Vexil refuses has a compiled form');
    return { name: entry.name, checked: 0, failures };
  }
  const compiledDigest = await sha256(compiled);
  if (compiledDigest !== entry.compiledDigest) {
    fail(`the compiled snapshot's SHA-256 is ${compiledDigest}, not the pinned ${entry.compiledDigest}`);
    return { name: entry.name, checked: 0, failures };
  }
  const loaded = engine.load(compiled, { namespace: JSON.parse(snapshot).namespace.key });
  if (loaded.digest !== entry.compiledDigest) fail(`the engine names the snapshot ${loaded.digest}, not ${entry.compiledDigest}`);

  const requests = entry.cases.map(({ request }) => request);
  const batch = engine.evaluateBatch(requests).responses;
  if (batch.length !== requests.length) fail(`evaluateBatch answered ${batch.length} of ${requests.length} requests`);
  let checked = 0;
  entry.cases.forEach(({ request, flipt, vexil, difference }, position) => {
    const expected = vexil ?? flipt;
    const because = difference ? ` (a deliberate difference: ${difference})` : '';
    const answers = [['evaluateBatch', batch[position] && fromBatch(batch[position])], ['single', evaluateSingle(engine, request, expected)]];
    for (const [how, answer] of answers) {
      checked++;
      if (answer === null) continue; // the flag-not-found error, as expected
      const fields = answer && !answer.threw && !answer.answered ? differingFields(answer, expected) : ['the answer'];
      if (fields.length > 0) {
        fail(`case ${position} (${how}): ${fields.join(', ')} differ${because}\n  request:  ${JSON.stringify(request)}\n  expected: ${JSON.stringify(expected)}\n  answer:   ${JSON.stringify(answer)}`);
      }
    }
  });
  return { name: entry.name, checked, failures };
}

/**
 * Every entry of the corpus, read through the runtime's own file access: `readText(name)` and
 * `readBytes(name)` (a Uint8Array) of a file in the corpus folder. `index.json` lists them.
 */
export async function loadCorpus({ readText, readBytes }) {
  const { entries } = JSON.parse(await readText('index.json'));
  return Promise.all(entries.map(async (name) => {
    const cases = JSON.parse(await readText(`${name}.cases.json`));
    const snapshot = await readText(`${name}.snapshot.json`);
    const compiled = cases.refused === undefined ? await readBytes(`${name}.compiled`) : null;
    return { cases, snapshot, compiled };
  }));
}
