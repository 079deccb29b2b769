// The "who is asking" form: an entity id and context rows, read as `{entityId, context}`.

const PRESETS = {
  staff: { entityId: 'ann@vexil.dev', context: { role: 'admin', plan: 'pro' } },
  'eu-customer': { entityId: 'user-7', context: { plan: 'pro', seats: '12', country: 'NL', basket_total: '180', items: '3' } },
  ios: { entityId: 'carol-42', context: { client: 'ios', signed_up_at: '2023-05-01T10:00:00Z', email: 'carol@example.com' } },
  blocked: { entityId: 'user-99', context: { blocked: 'true', country: 'US' } },
};

const INITIAL = { entityId: 'ann@vexil.dev', context: { plan: 'pro', seats: '12', country: 'NL' } };

/** Wires the form; `onInput({entityId, context})` runs on every edit and once at the start. */
export function setUpForm(onInput) {
  const form = document.getElementById('subject');
  const entity = document.getElementById('entity');
  const rows = document.getElementById('context-rows');
  const rowTemplate = document.getElementById('row-template');

  const read = () => {
    const context = {};
    for (const row of rows.querySelectorAll('.context-row')) {
      const key = row.querySelector('.ctx-key').value.trim();
      if (key) context[key] = row.querySelector('.ctx-value').value;
    }
    return { entityId: entity.value, context };
  };
  const changed = () => onInput(read());

  const addRow = (key = '', value = '') => {
    const row = rowTemplate.content.firstElementChild.cloneNode(true);
    row.querySelector('.ctx-key').value = key;
    row.querySelector('.ctx-value').value = value;
    row.querySelector('.remove').addEventListener('click', () => {
      row.remove();
      changed();
    });
    rows.append(row);
    return row;
  };
  const fill = ({ entityId, context }) => {
    entity.value = entityId;
    rows.replaceChildren();
    for (const [key, value] of Object.entries(context)) addRow(key, value);
    addRow(); // an empty row invites the next property
    changed();
  };

  form.addEventListener('input', changed);
  form.addEventListener('submit', (event) => event.preventDefault());
  document.getElementById('add-row').addEventListener('click', () => addRow().querySelector('.ctx-key').focus());
  for (const button of form.querySelectorAll('[data-preset]')) {
    button.addEventListener('click', () => fill(PRESETS[button.dataset.preset]));
  }
  fill(INITIAL);
  return { read };
}
