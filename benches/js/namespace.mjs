// A namespace of N flags as a Flipt flag file, for load-time benchmarks: the example shop's
// shapes repeated (variant flags with attachments and rules over shared segments, boolean flags
// with threshold and segment rollouts), so size and evaluation work grow with N as a real
// namespace's do. Written as JSON, which the flag loader reads as YAML.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENTS = [
  { key: 'staff', name: 'Staff', match_type: 'ANY_MATCH_TYPE', constraints: [
    { type: 'STRING_COMPARISON_TYPE', property: 'email', operator: 'suffix', value: '@vexil.dev' },
    { type: 'STRING_COMPARISON_TYPE', property: 'role', operator: 'isoneof', value: '["admin","support"]' },
  ] },
  { key: 'paying', name: 'Paying', match_type: 'ALL_MATCH_TYPE', constraints: [
    { type: 'STRING_COMPARISON_TYPE', property: 'plan', operator: 'isoneof', value: '["pro","team"]' },
    { type: 'NUMBER_COMPARISON_TYPE', property: 'seats', operator: 'gte', value: '3' },
  ] },
  { key: 'europe', name: 'Europe', match_type: 'ANY_MATCH_TYPE', constraints: [
    { type: 'STRING_COMPARISON_TYPE', property: 'country', operator: 'isoneof', value: '["DE","FR","NL","ES","IT"]' },
  ] },
  { key: 'recent', name: 'Recent', match_type: 'ALL_MATCH_TYPE', constraints: [
    { type: 'DATETIME_COMPARISON_TYPE', property: 'signed_up_at', operator: 'gt', value: '2024-01-01T00:00:00Z' },
  ] },
];

function flag(i) {
  if (i % 3 === 2) {
    return {
      key: `toggle-${i}`, name: `Toggle ${i}`, type: 'BOOLEAN_FLAG_TYPE', enabled: i % 2 === 0,
      rollouts: [
        { segment: { keys: ['staff'], value: true } },
        { threshold: { percentage: (i * 7) % 100, value: true } },
      ],
    };
  }
  return {
    key: `feature-${i}`, name: `Feature ${i}`, description: 'A variant flag of the benchmark namespace.',
    type: 'VARIANT_FLAG_TYPE', enabled: true,
    variants: [
      { key: 'control', default: true, attachment: { steps: 3 } },
      { key: 'treatment', attachment: { steps: 1, layout: { columns: 2 } } },
    ],
    rules: [
      { segment: { keys: ['staff'] }, distributions: [{ variant: 'treatment', rollout: 100 }] },
      { segment: { keys: ['paying', 'europe'], operator: 'AND_SEGMENT_OPERATOR' },
        distributions: [{ variant: 'control', rollout: 50 }, { variant: 'treatment', rollout: 50 }] },
      { segment: { keys: ['recent'] }, distributions: [{ variant: 'treatment', rollout: 10 }, { variant: 'control', rollout: 90 }] },
    ],
  };
}

/** Writes namespace `key` with `count` flags into `dir/key/features.yml`. */
export function writeNamespace(dir, key, count) {
  mkdirSync(join(dir, key), { recursive: true });
  const document = { version: '1.4', namespace: { key }, segments: SEGMENTS, flags: Array.from({ length: count }, (_, i) => flag(i)) };
  writeFileSync(join(dir, key, 'features.yml'), JSON.stringify(document));
}

/** A request for the namespace written by `writeNamespace` (a variant flag, matched by rule 1). */
export const FIRST_REQUEST = { flagKey: 'feature-0', entityId: 'ann@vexil.dev', context: { email: 'ann@vexil.dev' } };
