// The demo page: a Vexil client in the browser, evaluating every flag of a namespace for the
// entity and context in the form, and redrawing when the server pushes a new revision.

import { Client } from '../src/index.browser.js';
import { setUpForm } from './form.js';
import { evaluateAll, renderFlags } from './render.js';

const RETRY_MS = 3000;
const KEPT_REVISIONS = 6;

const $ = (id) => document.getElementById(id);
const state = { client: null, subject: null, signatures: new Map(), generation: 0 };

/** Evaluates every flag for the current subject and redraws the cards. */
function evaluate() {
  const { client, subject } = state;
  if (!client || !subject) return;
  const started = performance.now();
  const answers = evaluateAll(client, subject);
  const elapsed = performance.now() - started;
  state.signatures = renderFlags($('flags'), answers, state.signatures);
  $('flag-count').textContent = `(${answers.length})`;
  const flags = answers.length === 1 ? '1 flag' : `${answers.length} flags`;
  $('timing').textContent = `${flags} evaluated locally in ${elapsed.toFixed(2)} ms`;
  document.body.dataset.ready = 'true';
}

function showRevision(digest, note) {
  const revision = $('revision');
  revision.textContent = digest ? digest.slice(0, 12) : '—';
  revision.title = digest;
  revision.dataset.digest = digest;
  revision.classList.remove('flash');
  void revision.offsetWidth; // restarts the flash animation
  revision.classList.add('flash');
  setTimeout(() => revision.classList.remove('flash'), 900);

  const item = document.createElement('li');
  const time = new Date().toLocaleTimeString();
  item.innerHTML = `<code></code> <span class="muted"></span>`;
  item.firstElementChild.textContent = digest.slice(0, 12);
  item.lastElementChild.textContent = `${note} at ${time}`;
  const list = $('revisions');
  list.prepend(item);
  while (list.children.length > KEPT_REVISIONS) list.lastElementChild.remove();
}

function setConnection(status, text, problem = '') {
  const pill = $('connection');
  pill.dataset.state = status;
  pill.textContent = text;
  $('problem').hidden = !problem;
  $('problem').textContent = problem;
}

/** Forgets the previous namespace's flags, revision and history. */
function clearView() {
  $('revisions').replaceChildren();
  const loading = document.createElement('p');
  loading.className = 'muted';
  loading.textContent = 'Loading the snapshot…';
  $('flags').replaceChildren(loading);
  for (const id of ['flag-count', 'timing']) $(id).textContent = '';
  const revision = $('revision');
  revision.textContent = '—';
  revision.title = '';
  revision.dataset.digest = '';
}

/** (Re)starts the client for `namespace`; a newer call makes an older, pending one give up. */
async function connect(namespace) {
  const generation = ++state.generation;
  state.client?.close();
  state.client = null;
  state.signatures = new Map();
  setConnection('connecting', 'connecting…');
  clearView();
  let client;
  try {
    client = await Client.start({ url: location.origin, namespace });
  } catch (error) {
    if (generation !== state.generation) return;
    setConnection('error', 'offline', `Could not load namespace "${namespace}": ${error.message}. Retrying…`);
    setTimeout(() => generation === state.generation && connect(namespace), RETRY_MS);
    return;
  }
  if (generation !== state.generation) {
    client.close();
    return;
  }
  state.client = client;
  client.on('change', ({ digest }) => {
    showRevision(digest, 'pushed');
    evaluate();
  });
  client.on('error', (error) => setConnection('error', 'stale', `Sync failed, answering from the last revision: ${error.message}`));
  client.on('recover', () => setConnection('live', 'live'));
  setConnection('live', 'live');
  showRevision(client.digest, 'loaded');
  evaluate();
}

function namespaceFromUrl() {
  return new URLSearchParams(location.search).get('namespace') || 'default';
}

const namespaceInput = $('namespace');
namespaceInput.value = namespaceFromUrl();
namespaceInput.addEventListener('change', () => {
  const namespace = namespaceInput.value.trim() || 'default';
  history.replaceState(null, '', `?namespace=${encodeURIComponent(namespace)}`);
  connect(namespace);
});

setUpForm((subject) => {
  state.subject = subject;
  evaluate();
});
connect(namespaceInput.value);
