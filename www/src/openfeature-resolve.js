// What the server and web OpenFeature providers share: OpenFeature context to Vexil's entity id
// and string context, and a Vexil answer to OpenFeature's resolution details. It imports no
// OpenFeature package: each provider passes in its SDK's error classes.

const REASONS = {
  MATCH_EVALUATION_REASON: 'TARGETING_MATCH',
  DEFAULT_EVALUATION_REASON: 'DEFAULT',
  FLAG_DISABLED_EVALUATION_REASON: 'DISABLED',
  UNKNOWN_EVALUATION_REASON: 'UNKNOWN',
};

const openFeatureReason = (reason) => REASONS[reason] ?? 'UNKNOWN';

/**
 * `targetingKey` becomes the entity id (`""` when absent); every other attribute a string:
 * numbers and booleans as JS prints them, dates in ISO 8601, objects as JSON; null is left out.
 */
export function toVexilRequest(evaluationContext) {
  const context = {};
  let entityId = '';
  for (const [key, value] of Object.entries(evaluationContext ?? {})) {
    if (key === 'targetingKey') {
      entityId = value == null ? '' : String(value);
      continue;
    }
    const text = contextText(value);
    if (text !== undefined) context[key] = text;
  }
  return { entityId, context };
}

function contextText(value) {
  if (value == null) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Resolvers for the four OpenFeature types over a Client. `errors` holds the SDK's
 * `FlagNotFoundError`, `TypeMismatchError` and `ParseError`; `requestOf(context)` turns an
 * evaluation context into `{entityId, context}` (so the web provider can cache it).
 */
export function createResolvers(client, errors, requestOf = toVexilRequest) {
  const flagOf = (flagKey, type) => {
    const flag = client.getFlag(flagKey);
    if (!flag) throw new errors.FlagNotFoundError(`flag "${flagKey}" not found in namespace "${client.namespace}"`);
    if (flag.type !== type) {
      const kind = type === 'BOOLEAN_FLAG_TYPE' ? 'a boolean' : 'a variant';
      throw new errors.TypeMismatchError(`flag "${flagKey}" is not ${kind} flag`);
    }
    return flag;
  };

  const variant = (flagKey, context) => {
    flagOf(flagKey, 'VARIANT_FLAG_TYPE');
    return client.evaluateVariant({ flagKey, ...requestOf(context) });
  };

  /** A variant answer's value from its attachment, when `accepts` it; else the default. */
  const fromAttachment = (flagKey, defaultValue, context, accepts, expected) => {
    const answer = variant(flagKey, context);
    if (!answer.variantKey || !answer.variantAttachment) return variantDetails(answer, defaultValue);
    let value;
    try {
      value = JSON.parse(answer.variantAttachment);
    } catch (error) {
      throw new errors.ParseError(`flag "${flagKey}": attachment is not JSON: ${error.message}`);
    }
    if (!accepts(value)) {
      throw new errors.TypeMismatchError(`flag "${flagKey}": variant "${answer.variantKey}" has an attachment that is not ${expected}`);
    }
    return variantDetails(answer, value);
  };

  return {
    boolean(flagKey, defaultValue, context) {
      flagOf(flagKey, 'BOOLEAN_FLAG_TYPE');
      const answer = client.evaluateBoolean({ flagKey, ...requestOf(context) });
      return {
        value: answer.enabled,
        variant: String(answer.enabled),
        reason: openFeatureReason(answer.reason),
        flagMetadata: segmentMetadata(answer),
      };
    },
    string(flagKey, defaultValue, context) {
      const answer = variant(flagKey, context);
      return variantDetails(answer, answer.variantKey || defaultValue);
    },
    number(flagKey, defaultValue, context) {
      return fromAttachment(flagKey, defaultValue, context, (v) => typeof v === 'number', 'a number');
    },
    object(flagKey, defaultValue, context) {
      return fromAttachment(flagKey, defaultValue, context, (v) => v !== null && typeof v === 'object', 'a JSON object or array');
    },
  };
}

function variantDetails(answer, value) {
  const flagMetadata = segmentMetadata(answer);
  if (answer.variantAttachment) flagMetadata.attachment = answer.variantAttachment;
  return {
    value,
    variant: answer.variantKey || undefined,
    reason: openFeatureReason(answer.reason),
    flagMetadata,
  };
}

// OpenFeature metadata values are flat: segment keys joined, as Vexil's OFREP sends them.
function segmentMetadata(answer) {
  return answer.segmentKeys.length ? { segments: answer.segmentKeys.join(',') } : {};
}

/**
 * Forwards the client's events to an OpenFeature event emitter: a new snapshot is a
 * configuration change, a failed sync makes the provider stale, the next good one ready.
 * Returns the unsubscribe function.
 */
export function forwardClientEvents(client, emitter, ProviderEvents) {
  const unsubscribes = [
    client.on('change', ({ digest }) => emitter.emit(ProviderEvents.ConfigurationChanged, { message: `snapshot ${digest}` })),
    client.on('error', (error) => emitter.emit(ProviderEvents.Stale, { message: error.message })),
    client.on('recover', () => emitter.emit(ProviderEvents.Ready, {})),
  ];
  return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
}
