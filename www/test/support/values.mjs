// Constraint values and context values, per constraint type.
//
// Everything here stays inside the inputs on which Vexil and Flipt must agree (DESIGN.md §3):
// integers within i32 written plainly, full RFC 3339 date-times (never bare dates), integer
// lists for NUMBER isoneof. Context values also include junk that neither side can parse.

export const OPERATORS = {
  STRING: ['eq', 'neq', 'empty', 'notempty', 'prefix', 'suffix', 'contains', 'notcontains', 'isoneof', 'isnotoneof'],
  ENTITY_ID: ['eq', 'neq', 'empty', 'notempty', 'prefix', 'suffix', 'contains', 'notcontains', 'isoneof', 'isnotoneof'],
  NUMBER: ['eq', 'neq', 'present', 'notpresent', 'lt', 'lte', 'gt', 'gte', 'isoneof', 'isnotoneof'],
  BOOLEAN: ['true', 'false', 'present', 'notpresent'],
  DATETIME: ['eq', 'neq', 'present', 'notpresent', 'lt', 'lte', 'gt', 'gte'],
};

/** Every (type, operator) pair the coverage gate checks. */
export const PAIRS = Object.entries(OPERATORS).flatMap(([type, ops]) => ops.map((op) => [type, op]));

// Context properties, one type each, so a context value is always aimed at one type.
export const PROPERTIES = {
  STRING: ['plan', 'region', 'email'],
  NUMBER: ['age', 'seats'],
  BOOLEAN: ['beta', 'admin'],
  DATETIME: ['signup', 'renewal'],
  // Flipt reads the entity id for ENTITY_ID constraints; the property is not used.
  ENTITY_ID: ['entityId'],
};

const VALUE_FREE = new Set(['empty', 'notempty', 'present', 'notpresent', 'true', 'false']);

const WORDS = [
  'free', 'pro', 'enterprise', 'beta-tester', 'us-east-1', 'eu_west', 'x', 'ab', 'Zürich', 'naïve',
  '日本語テキスト', 'emoji 🎉 party', 'user@example.com', 'a,b', 'with space', 'quote"d', '123', 'true',
];
const ENTITY_IDS = [
  'u1', 'user-42', 'abc', '7', '1234567890', '01', 'ann@example.com', 'bob.smith+tag@mail.co',
  'ユーザー7', 'émile', '😀-id', 'Ω', 'x', 'user_99', 'zz-top',
];
// Flipt 0.5.1 reads string lists as borrowed `&str`s, so a list holding any JSON escape (a quote
// or a backslash) fails to parse there and never matches, while Vexil reads it. Lists keep to
// words that need no escape (that difference is reported, not tested here).
const listable = (pool) => pool.filter((w) => JSON.stringify(w) === `"${w}"`);

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

/** Code points, so substrings never split a surrogate pair (the JSON must stay valid UTF-8). */
const chars = (s) => Array.from(s);

function substringOf(rng, s, mode) {
  const cps = chars(s);
  const len = rng.int(1, cps.length);
  if (mode === 'prefix') return cps.slice(0, len).join('');
  if (mode === 'suffix') return cps.slice(cps.length - len).join('');
  const start = rng.int(0, cps.length - len);
  return cps.slice(start, start + len).join('');
}

const clampI32 = (n) => Math.max(I32_MIN, Math.min(I32_MAX, n));

function randomInt(rng) {
  return rng.weighted([
    [6, () => rng.int(-20, 20)],
    [2, () => rng.int(-100000, 100000)],
    [1, () => rng.int(-2000000000, 2000000000)],
    [1, () => rng.pick([I32_MIN, I32_MAX, 0, -1])],
  ])();
}

// --- date-times -----------------------------------------------------------------------------

const OFFSETS = [0, 0, 120, -300, 330, -570, 840, -720];

/** Formats epoch seconds as RFC 3339 at `offsetMinutes`, with an optional fraction. */
export function formatDateTime(epochSeconds, offsetMinutes, fraction, zuluStyle) {
  const local = new Date((epochSeconds + offsetMinutes * 60) * 1000);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const time = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  let zone;
  if (offsetMinutes === 0 && zuluStyle) zone = 'Z';
  else {
    const abs = Math.abs(offsetMinutes);
    zone = `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  }
  return `${date}T${time}${fraction}${zone}`;
}

function randomFraction(rng) {
  return rng.weighted([[5, ''], [1, '.5'], [1, '.000'], [1, '.123456789'], [1, '.999'], [1, '.25']]);
}

/** An RFC 3339 rendering of the instant, in a random offset and fraction style. */
function renderInstant(rng, epochSeconds) {
  return formatDateTime(epochSeconds, rng.pick(OFFSETS), randomFraction(rng), rng.chance(0.7));
}

function randomInstant(rng) {
  // 1950..2050, so pre-epoch instants (where fractions must floor) show up too.
  const lo = -631152000;
  const hi = 2524608000;
  const t = rng.int(lo, hi);
  return rng.chance(0.3) ? t - (t % 86400) : t; // sometimes exactly midnight UTC
}

/** Parses a value this module produced back to epoch seconds (floor at whole seconds). */
function epochOf(text) {
  return Math.floor(Date.parse(text) / 1000);
}

// --- constraint values ----------------------------------------------------------------------

/** A valid `value` for a constraint of `type` with `operator`. */
export function constraintValue(rng, type, operator) {
  if (VALUE_FREE.has(operator)) return '';
  const pool = type === 'ENTITY_ID' ? ENTITY_IDS : WORDS;
  switch (type) {
    case 'STRING':
    case 'ENTITY_ID': {
      const word = rng.pick(pool);
      if (operator === 'prefix' || operator === 'suffix') return substringOf(rng, word, operator);
      if (operator === 'contains' || operator === 'notcontains') return substringOf(rng, word, 'middle');
      if (operator === 'isoneof' || operator === 'isnotoneof') return JSON.stringify(rng.sample(listable(pool), rng.int(1, 4)));
      return word;
    }
    case 'NUMBER': {
      if (operator === 'isoneof' || operator === 'isnotoneof') {
        const list = Array.from({ length: rng.int(1, 4) }, () => randomInt(rng));
        // Flipt and Vexil both read the list with a JSON parser: spacing must not matter.
        return rng.chance(0.5) ? JSON.stringify(list) : `[${list.join(', ')}]`;
      }
      return String(randomInt(rng));
    }
    case 'DATETIME':
      return renderInstant(rng, randomInstant(rng));
    default:
      throw new Error(`no values for ${type}/${operator}`);
  }
}

// --- context values -------------------------------------------------------------------------

/** Values no side can parse as the type: they must match nothing but present/notempty. */
export const JUNK = {
  NUMBER: ['abc', '1a', '--3', 'one'],
  BOOLEAN: ['yes', 'TRUE', 'True', '1', 'no'],
  DATETIME: ['not-a-date', '2024-13-01T00:00:00Z', '2024-01-01T00:00:00', 'yesterday'],
  STRING: [],
  ENTITY_ID: [],
};

/**
 * Candidate context values aimed at both sides of one constraint: its own value, near values
 * (±1, ±1 second or day, prefixes and substrings, list members and non-members).
 */
export function nearValues(rng, constraint) {
  const { type, operator, value } = constraint;
  const pool = type === 'ENTITY_ID' ? ENTITY_IDS : WORDS;
  switch (type) {
    case 'STRING':
    case 'ENTITY_ID': {
      const other = rng.pick(pool);
      if (operator === 'empty' || operator === 'notempty') return ['', '', other, rng.pick(pool)];
      if (operator === 'isoneof' || operator === 'isnotoneof') {
        const members = JSON.parse(value);
        const member = rng.pick(members);
        return [member, member, rng.pick(members), member + 'x', member.toUpperCase(), other, ''];
      }
      const cps = chars(value);
      const base = [value, value, other];
      if (operator === 'prefix') base.push(value + 'tail', 'x' + value, cps.slice(1).join('') || 'q', pool.find((w) => w.startsWith(value)) ?? value);
      else if (operator === 'suffix') base.push('head' + value, value + 'x', cps.slice(0, -1).join('') || 'q', pool.find((w) => w.endsWith(value)) ?? value);
      else if (operator === 'contains' || operator === 'notcontains') base.push(`a${value}b`, cps.slice(1).join('') || 'q', pool.find((w) => w.includes(value)) ?? value);
      else base.push(value + 'x', value.toUpperCase(), cps.slice(1).join('') || 'q');
      return base;
    }
    case 'NUMBER': {
      if (operator === 'present' || operator === 'notpresent') return [String(randomInt(rng)), '', '0'];
      const targets = operator === 'isoneof' || operator === 'isnotoneof' ? JSON.parse(value) : [Number(value)];
      const n = rng.pick(targets);
      return [n, n, n - 1, n + 1, n - rng.int(2, 1000), n + rng.int(2, 1000), randomInt(rng)].map((x) => String(clampI32(x)));
    }
    case 'BOOLEAN':
      return operator === 'present' || operator === 'notpresent' ? ['true', 'false', ''] : ['true', 'false'];
    case 'DATETIME': {
      if (operator === 'present' || operator === 'notpresent') return [renderInstant(rng, randomInstant(rng)), ''];
      const t = epochOf(value);
      return [
        value,
        renderInstant(rng, t), // the same second, another offset or fraction
        renderInstant(rng, t - 1),
        renderInstant(rng, t + 1),
        renderInstant(rng, t - 86400),
        renderInstant(rng, t + 86400),
        renderInstant(rng, randomInstant(rng)),
      ];
    }
    default:
      throw new Error(`no context values for ${type}`);
  }
}

/** A context value for a property of `type` that no constraint in particular aims at. */
export function randomContextValue(rng, type) {
  switch (type) {
    case 'STRING':
      return rng.pick(WORDS);
    case 'NUMBER':
      return String(randomInt(rng));
    case 'BOOLEAN':
      return rng.pick(['true', 'false']);
    case 'DATETIME':
      return renderInstant(rng, randomInstant(rng));
    default:
      return rng.pick(ENTITY_IDS);
  }
}

export function randomEntityId(rng) {
  return rng.weighted([
    [4, () => rng.pick(ENTITY_IDS)],
    [3, () => `user-${rng.int(0, 99999)}`],
    [2, () => String(rng.int(0, 1000000))],
    [1, () => `${rng.pick(['ann', 'bo', 'chloé', 'd'])}${rng.int(1, 999)}@example.${rng.pick(['com', 'org', 'dev'])}`],
    [1, () => `${rng.pick(['ユーザー', 'Ωmega', 'Ñandú', '🚀'])}${rng.int(0, 99)}`],
  ])();
}
