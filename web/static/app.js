// CodePod's web UI: sign in with an API key, list, create, stop, start and
// delete sandboxes, and open a terminal on a running one.
import { call, getKey, setKey, clearKey } from './api.js';
import { TerminalSession } from './terminal.js';

const $ = (sel) => document.querySelector(sel);
let timer = null;
let lastList = '';
let session = null;

// showError shows msg in the banner, or hides it when msg is empty. The
// banner stays until it is dismissed or a user action runs again: the list
// refresh every 2s does not clear it.
function showError(msg) {
  $('#error-text').textContent = msg || '';
  $('#error').hidden = !msg;
}

// run calls fn and shows its error, if any. A user action (clear true: a
// retry) first clears the banner; the background refresh (clear false)
// leaves it as it is.
async function run(fn, clear = true) {
  try {
    if (clear) showError('');
    return await fn();
  } catch (e) {
    if (e.status === 401) { signOut(); }
    showError(e.message);
    return undefined;
  }
}

function age(iso) {
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return Math.floor(s / 3600) + 'h';
  return Math.floor(s / 86400) + 'd';
}

function button(label, cls, onClick, enabled = true) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.className = cls;
  b.disabled = !enabled;
  b.addEventListener('click', onClick);
  return b;
}

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function row(sb) {
  const tr = document.createElement('tr');
  tr.dataset.id = sb.id;
  tr.dataset.name = sb.name;
  tr.dataset.status = sb.status;
  const status = cell(sb.status + (sb.reason ? ` (${sb.reason})` : ''), `status status-${sb.status}`);
  const ageCell = cell(age(sb.created_at), 'age');
  ageCell.dataset.created = sb.created_at;
  const actions = cell('', 'actions');
  const running = sb.status === 'running';
  actions.append(
    button('Terminal', 'open', () => openTerminal(sb), running),
    button('Stop', 'stop', () => action(sb, 'POST', '/stop'), running),
    button('Start', 'start', () => action(sb, 'POST', '/start'), sb.status === 'stopped'),
    button('Delete', 'delete danger', () => {
      if (confirm(`Delete sandbox ${sb.name}? Its files are lost.`)) action(sb, 'DELETE', '');
    }, sb.status !== 'deleting'),
  );
  tr.append(cell(sb.name, 'name'), status, cell(sb.image), cell(String(sb.cpu)), cell(sb.memory), ageCell, actions);
  return tr;
}

async function refresh() {
  const list = await run(() => call('GET', '/sandboxes?limit=500'), false);
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  if (!list) return;
  const items = list.items || [];
  const json = JSON.stringify(items);
  if (json !== lastList) {
    lastList = json;
    $('#sandboxes tbody').replaceChildren(...items.map(row));
    $('#empty').hidden = items.length > 0;
  } else {
    document.querySelectorAll('#sandboxes td.age').forEach((td) => { td.textContent = age(td.dataset.created); });
  }
}

async function action(sb, method, suffix) {
  await run(() => call(method, '/sandboxes/' + encodeURIComponent(sb.id) + suffix));
  if (session && session.id === sb.id && method === 'DELETE') closeTerminal();
  await refresh();
}

function openTerminal(sb) {
  closeTerminal();
  $('#terminal-view').hidden = false;
  $('#terminal-name').textContent = sb.name;
  $('#terminal-status').textContent = 'connecting…';
  const t = new TerminalSession($('#terminal'), sb.id, getKey(), (s) => { $('#terminal-status').textContent = s; });
  session = { id: sb.id, t };
  $('#terminal-view').scrollIntoView();
}

function closeTerminal() {
  if (session) { session.t.close(); session = null; }
  $('#terminal').replaceChildren();
  $('#terminal-view').hidden = true;
}

async function create(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = {};
  for (const k of ['name', 'image', 'memory', 'ttl']) {
    const v = String(f.get(k) || '').trim();
    if (v) body[k] = v;
  }
  const sb = await run(() => call('POST', '/sandboxes', body));
  if (sb) {
    ev.target.elements.name.value = '';
    await refresh();
  }
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $('#key').value.trim();
  const me = await run(() => call('GET', '/me', undefined, key));
  if (!me) return;
  setKey(key);
  $('#key').value = '';
  start(me);
}

function start(me) {
  $('#who').textContent = me.email || me.id || '';
  $('#signin-view').hidden = true;
  $('#main-view').hidden = false;
  $('#signout').hidden = false;
  lastList = '';
  refresh();
  clearInterval(timer);
  timer = setInterval(refresh, 2000);
}

function signOut() {
  clearInterval(timer);
  timer = null;
  closeTerminal();
  clearKey();
  $('#who').textContent = '';
  $('#main-view').hidden = true;
  $('#signout').hidden = true;
  $('#signin-view').hidden = false;
  $('#sandboxes tbody').replaceChildren();
}

$('#signin').addEventListener('submit', signIn);
$('#create').addEventListener('submit', create);
$('#signout').addEventListener('click', () => { signOut(); showError(''); });
$('#terminal-close').addEventListener('click', closeTerminal);
$('#error-dismiss').addEventListener('click', () => showError(''));

if (getKey()) {
  run(() => call('GET', '/me')).then((me) => (me ? start(me) : signOut()));
} else {
  signOut();
}
