// Result objects in Flipt's field names: the one place the SDK builds them. The engine answers
// with integers (www/src/wasm-engine.js); every string here was made once per snapshot.

export const VARIANT_FLAG_TYPE = 'VARIANT_FLAG_TYPE';
export const BOOLEAN_FLAG_TYPE = 'BOOLEAN_FLAG_TYPE';

const NO_VARIANT = { key: '', attachment: '' };

/** `{flagKey, match, reason, variantKey, variantAttachment, segmentKeys}`. */
export function variantResult(flag, matched, reason, variantPosition, segmentKeys) {
  const variant = variantPosition >= 0 ? flag.variants[variantPosition] : NO_VARIANT;
  return {
    flagKey: flag.key,
    match: matched,
    reason,
    variantKey: variant.key,
    variantAttachment: variant.attachment,
    segmentKeys,
  };
}

/** `{flagKey, enabled, reason, segmentKeys}`. */
export function booleanResult(flag, enabled, reason, segmentKeys) {
  return { flagKey: flag.key, enabled, reason, segmentKeys };
}

/** A batch entry for an answer: `{type, variantResponse}` or `{type, booleanResponse}`. */
export function batchItem(flag, response) {
  return flag.variant
    ? { type: 'VARIANT_EVALUATION_RESPONSE_TYPE', variantResponse: response }
    : { type: 'BOOLEAN_EVALUATION_RESPONSE_TYPE', booleanResponse: response };
}

/** A batch entry for a flag or namespace this snapshot does not have, as Flipt's batch gives. */
export function errorItem(flagKey, namespaceKey) {
  return {
    type: 'ERROR_EVALUATION_RESPONSE_TYPE',
    errorResponse: { flagKey, namespaceKey, reason: 'NOT_FOUND_ERROR_EVALUATION_REASON' },
  };
}

/** `{key, type, enabled}`: a new object each time (a caller may change it). */
export function flagInfo(flag) {
  return { key: flag.key, type: flag.variant ? VARIANT_FLAG_TYPE : BOOLEAN_FLAG_TYPE, enabled: flag.enabled };
}

/** The keys of the group's segments whose bits are set in the mask (`low`, `high` halves). */
export function segmentKeys(group, low, high) {
  const keys = [];
  if ((low | high) === 0 || group === undefined) return keys;
  for (let bit = 0; bit < group.length; bit++) {
    const half = bit < 32 ? low : high;
    if ((half >>> (bit & 31)) & 1) keys.push(group[bit]);
  }
  return keys;
}
