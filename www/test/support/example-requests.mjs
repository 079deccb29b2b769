// Random evaluation requests against examples/flags (namespace `default`), built so that every
// constraint there is hit both ways and properties are often missing.
//
// Values stay where DESIGN.md §3 promises agreement with Flipt: integers only (Flipt's engine
// parses i32), and RFC 3339 date-times only (bare dates are a deliberate difference).

export const EXAMPLE_FLAGS = ['new-checkout', 'holiday-banner', 'search-ranking', 'dark-mode', 'free-shipping'];

// Each property: the values to draw from. `undefined` leaves the property out of the context.
const PROPERTIES = {
  // staff: role isoneof ["admin","support"]
  role: ['admin', 'support', 'user', 'Admin', '', undefined],
  // beta-testers: beta is "true"
  beta: ['true', 'false', 'yes', 'TRUE', '', undefined],
  // paying-customers: plan neq free, plan notempty, seats gte 1
  plan: ['free', 'pro', 'team', 'enterprise', '', undefined],
  seats: ['0', '1', '2', '25', '-3', 'many', '', undefined],
  // europe: country isoneof [NL,DE,FR,ES,IT,PL,SE], or timezone prefix Europe/
  country: ['NL', 'DE', 'SE', 'US', 'GB', 'nl', '', undefined],
  timezone: ['Europe/Amsterdam', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Europe', '', undefined],
  // big-basket: basket_total gt 100, items isnotoneof [0]
  basket_total: ['50', '100', '101', '250', '-5', 'lots', '', undefined],
  items: ['0', '1', '3', '12', 'none', '', undefined],
  // early-adopters: signed_up_at lt 2024-01-01T00:00:00Z, email notcontains +test
  signed_up_at: [
    '2023-12-31T23:59:59Z', '2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', '2020-06-15T08:30:00+02:00',
    '2024-01-01T00:30:00+01:00', '2025-03-01T12:00:00Z', 'yesterday', '', undefined,
  ],
  email: ['ann@example.com', 'bob+test@example.com', 'carol@vexil.dev', '+test', '', undefined],
  // mobile-app: client eq ios
  client: ['ios', 'android', 'web', 'iOS', '', undefined],
  // blocked-accounts: blocked is "true", or suspended_until gt 2025-06-01
  blocked: ['true', 'false', '1', '', undefined],
  suspended_until: [
    '2025-05-31T23:59:59Z', '2025-06-01T00:00:00Z', '2025-06-01T00:00:01Z', '2030-01-01T00:00:00Z',
    '2025-06-01T01:00:00+02:00', 'never', '', undefined,
  ],
  // Matched by nothing: noise a server must ignore.
  locale: ['en-GB', 'nl-NL', undefined],
};

const DOMAINS = ['vexil.dev', 'example.com', 'vexil.dev.example.com', 'mail.vexil.dev'];

/** A random entity id: emails (some staff, by the @vexil.dev suffix), numbers, uuids-ish. */
export function randomEntityId(rng) {
  switch (rng.int(0, 3)) {
    case 0:
      return `user-${rng.int(0, 99999)}`;
    case 1:
      return `${rng.pick(['ann', 'bob', 'carol', 'dave', 'eve'])}${rng.int(0, 999)}@${rng.pick(DOMAINS)}`;
    case 2:
      return String(rng.int(0, 1_000_000));
    default:
      return Array.from({ length: 4 }, () => rng.int(0, 0xffff).toString(16)).join('-');
  }
}

/** A random context: each property present with some chance, drawn from its values. */
export function randomContext(rng) {
  const context = {};
  for (const [property, values] of Object.entries(PROPERTIES)) {
    if (!rng.chance(0.7)) continue;
    const value = rng.pick(values);
    if (value !== undefined) context[property] = value;
  }
  return context;
}

/**
 * `count` random requests over the example flags, and now and then a flag that does not exist.
 * Requests carry `namespaceKey` (Vexil's HTTP API needs it; Flipt's client ignores it).
 */
export function randomRequests(rng, count, namespaceKey = 'default') {
  return Array.from({ length: count }, (_, i) => ({
    namespaceKey,
    flagKey: rng.chance(0.03) ? `no-such-flag-${i}` : rng.pick(EXAMPLE_FLAGS),
    entityId: randomEntityId(rng),
    context: randomContext(rng),
  }));
}
