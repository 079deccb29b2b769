// Comparing two normalized answers, and describing a disagreement well enough to replay it.

import { isDeepStrictEqual } from 'node:util';

/** Attachments are JSON text: equal when both parse to the same value, else as strings. */
function sameAttachment(a, b) {
  if (a && b) {
    try {
      return isDeepStrictEqual(JSON.parse(a), JSON.parse(b));
    } catch {
      return a === b;
    }
  }
  return a === b;
}

/** The fields on which the two answers differ (empty when they agree). */
export function differences(vexil, flipt) {
  const fields = new Set([...Object.keys(vexil), ...Object.keys(flipt)]);
  const diffs = [];
  for (const field of fields) {
    const equal = field === 'variantAttachment'
      ? sameAttachment(vexil[field], flipt[field])
      : isDeepStrictEqual(vexil[field], flipt[field]);
    if (!equal) diffs.push(field);
  }
  return diffs;
}

/** One disagreement, as a block of text that names everything needed to reproduce it. */
export function describeMismatch({ seed, namespaceIndex, request, flag, vexil, flipt, diffs, files }) {
  return [
    `seed ${seed}, namespace #${namespaceIndex}: fields differ: ${diffs.join(', ')}` +
      ` (replay: VEXIL_SEED=${seed} VEXIL_ONLY_NAMESPACE=${namespaceIndex} npm test)`,
    `  request: ${JSON.stringify(request)}`,
    `  vexil:   ${JSON.stringify(vexil)}`,
    `  flipt:   ${JSON.stringify(flipt)}`,
    `  flag:    ${flag ? JSON.stringify(flag) : '(not in the snapshot)'}`,
    files ? `  files:   ${files.snapshotFile} ${files.batchFile}` : '',
  ].filter(Boolean).join('\n');
}
