// Drawing the flag cards from the client's answers.

const SHORT_REASON = {
  MATCH_EVALUATION_REASON: 'match',
  DEFAULT_EVALUATION_REASON: 'default',
  FLAG_DISABLED_EVALUATION_REASON: 'disabled',
  UNKNOWN_EVALUATION_REASON: 'unknown',
};

/** Evaluates every flag for `subject`; an answer is `{flag, result}` or `{flag, error}`. */
export function evaluateAll(client, { entityId, context }) {
  return client.listFlags().map((flag) => {
    const request = { flagKey: flag.key, entityId, context };
    try {
      const result = flag.type === 'BOOLEAN_FLAG_TYPE' ? client.evaluateBoolean(request) : client.evaluateVariant(request);
      return { flag, result };
    } catch (error) {
      return { flag, error };
    }
  });
}

/**
 * Replaces the cards with `answers`. Cards whose answer differs from `previous` (flag key to
 * signature) get a brief highlight; returns the new signatures.
 */
export function renderFlags(container, answers, previous = new Map()) {
  const template = document.getElementById('flag-template');
  const signatures = new Map();
  const cards = answers.map(({ flag, result, error }) => {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.flag = flag.key;
    const field = (name) => card.querySelector(`[data-field="${name}"]`);
    field('key').textContent = flag.key;
    field('type').textContent = flag.type === 'BOOLEAN_FLAG_TYPE' ? 'boolean' : 'variant';
    field('enabled').textContent = flag.enabled ? 'enabled' : 'disabled';
    field('enabled').dataset.enabled = String(flag.enabled);
    fillAnswer(field, flag, result, error);
    const signature = JSON.stringify([flag, result ?? error?.message]);
    signatures.set(flag.key, signature);
    if (previous.has(flag.key) && previous.get(flag.key) !== signature) card.classList.add('changed');
    return card;
  });
  container.replaceChildren(...cards);
  return signatures;
}

function fillAnswer(field, flag, result, error) {
  const value = field('value');
  const reason = field('reason');
  value.dataset.kind = flag.type === 'BOOLEAN_FLAG_TYPE' ? 'boolean' : 'variant';
  if (error) {
    value.textContent = 'error';
    value.classList.add('empty');
    reason.textContent = error.code ?? 'error';
    reason.dataset.reason = 'error';
    field('segments').textContent = '—';
    field('attachment').textContent = error.message;
    return;
  }
  const text = 'enabled' in result ? String(result.enabled) : result.variantKey;
  value.textContent = text || 'no variant';
  value.dataset.value = text;
  value.classList.toggle('empty', !text);
  reason.textContent = SHORT_REASON[result.reason] ?? result.reason;
  reason.dataset.reason = SHORT_REASON[result.reason] ?? 'other';
  reason.title = result.reason;
  const segments = field('segments');
  if (result.segmentKeys.length === 0) segments.textContent = '—';
  for (const key of result.segmentKeys) {
    const chip = document.createElement('span');
    chip.className = 'segment';
    chip.textContent = key;
    segments.append(chip);
  }
  field('attachment').textContent = prettyAttachment(result.variantAttachment);
}

/** The attachment (a JSON string, `""` for none) indented, or a dash. */
function prettyAttachment(attachment) {
  if (!attachment) return '—';
  try {
    return JSON.stringify(JSON.parse(attachment), null, 2);
  } catch {
    return attachment;
  }
}
