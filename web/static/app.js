// @ts-check
// CodePod's web UI: sign-in, then pages chosen by the URL's hash
// (#/sandboxes, #/sandboxes/ID/terminal, #/runners, …). Each page is a
// module in pages/ exporting render(view, ctx) that fills view and returns
// an optional cleanup function.
import { call, setCSRF, setWorkspace } from './api.js';
import { $, h, run, showError } from './ui.js';
import { stop as stopLive, restart as restartLive } from './live.js';
import * as signin from './pages/signin.js';
import * as sandboxes from './pages/sandboxes.js';
import * as create from './pages/create.js';
import * as detail from './pages/detail.js';
import * as runners from './pages/runners.js';
import * as keys from './pages/keys.js';
import * as users from './pages/users.js';
import * as workspaces from './pages/workspaces.js';

/** @typedef {{me: any, go: (hash: string) => void, params: string[]}} Ctx */

/** @type {{pattern: RegExp, page: any, nav?: string, admin?: boolean}[]} */
const routes = [
  { pattern: /^#\/sandboxes\/?$/, page: sandboxes, nav: 'sandboxes' },
  { pattern: /^#\/new$/, page: create, nav: 'sandboxes' },
  { pattern: /^#\/sandboxes\/([^/]+)(?:\/([a-z-]+))?$/, page: detail, nav: 'sandboxes' },
  { pattern: /^#\/runners$/, page: runners, nav: 'runners', admin: true },
  { pattern: /^#\/keys$/, page: keys, nav: 'keys' },
  { pattern: /^#\/workspaces$/, page: workspaces, nav: 'workspaces' },
  { pattern: /^#\/users$/, page: users, nav: 'users', admin: true },
];

/** @type {any} */
let me = null;
/** @type {null | (() => void)} */
let cleanup = null;

function go(/** @type {string} */ hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const view = $('#view');
  view.replaceChildren();
  if (!me) {
    renderNav();
    signin.render(view, { me, go, params: [], signedIn });
    return;
  }
  const hash = location.hash || '#/sandboxes';
  const r = routes.find((x) => x.pattern.test(hash) && (!x.admin || me.admin));
  if (!r) { go('#/sandboxes'); return; }
  renderNav(r.nav);
  const params = (hash.match(r.pattern) || []).slice(1).map((p) => (p ? decodeURIComponent(p) : p));
  cleanup = r.page.render(view, { me, go, params, useWorkspace, workspacesChanged: loadWorkspaces }) || null;
  const heading = /** @type {HTMLElement|null} */ (view.querySelector('h1'));
  if (heading) document.title = heading.textContent + ' · CodePod';
}

function renderNav(/** @type {string} */ active = '') {
  const nav = $('#nav');
  $('#who').textContent = me ? me.email : '';
  $('#signout').hidden = !me;
  if (!me) { nav.replaceChildren(); return; }
  const items = [['sandboxes', 'Sandboxes'], ['keys', 'Keys'], ['workspaces', 'Workspaces'], ...(me.admin ? [['runners', 'Runners'], ['users', 'Users']] : [])];
  nav.replaceChildren(...items.map(([id, label]) => h('a', { href: '#/' + id, id: 'nav-' + id, 'aria-current': id === active ? 'page' : null }, label)),
    h('a', { href: '/docs' }, 'API docs'));
}

// The workspace switcher: the caller's workspaces (GET /workspaces); the
// choice is remembered per user in localStorage (not a secret) and sent
// with every request (api.js).
const wsSelect = /** @type {HTMLSelectElement} */ ($('#workspace'));
const wsKey = () => 'codepod.workspace.' + me.id;

/** loadWorkspaces fills the switcher and picks the remembered workspace (else the personal one). */
async function loadWorkspaces() {
  setWorkspace(null); // list from the personal workspace: the remembered one may be gone
  /** @type {import('./api.js').Workspace[]} */
  let items = [];
  try { items = (await call('GET', '/workspaces')).items || []; } catch (e) { showError(e instanceof Error ? e.message : String(e)); }
  const want = localStorage.getItem(wsKey());
  const w = items.find((x) => x.id === want) || items.find((x) => x.personal) || null;
  setWorkspace(w);
  wsSelect.replaceChildren(...items.map((x) => h('option', { value: x.id }, `${x.personal ? x.name + ' (personal)' : x.name} · ${x.role || ''}`)));
  wsSelect.value = w ? w.id : '';
  wsSelect.dataset.role = w?.role || '';
  document.body.dataset.role = w?.role || '';
  $('#ws-switch').hidden = items.length === 0;
  return items;
}

/** useWorkspace makes id the current workspace and shows its sandboxes. */
async function useWorkspace(/** @type {string} */ id) {
  localStorage.setItem(wsKey(), id);
  await loadWorkspaces();
  restartLive();
  if (/^#\/(sandboxes\/|new)/.test(location.hash)) go('#/sandboxes');
  else route();
}

wsSelect.addEventListener('change', () => run(() => useWorkspace(wsSelect.value)));

async function signedIn(/** @type {any} */ session) {
  setCSRF(session.csrf_token);
  me = session.user;
  await loadWorkspaces();
  document.body.dataset.signedIn = 'true';
  if (!location.hash || location.hash === '#/signin') location.hash = '#/sandboxes';
  else route();
}

function signedOut() {
  if (cleanup) { cleanup(); cleanup = null; }
  me = null;
  stopLive();
  setCSRF('');
  setWorkspace(null);
  $('#ws-switch').hidden = true;
  delete document.body.dataset.signedIn;
  route();
}

$('#signout').addEventListener('click', async () => {
  await run(() => call('DELETE', '/auth/session'));
  signedOut();
});
window.addEventListener('codepod:signed-out', signedOut);
window.addEventListener('hashchange', route);
// "/" focuses the page's search box (outside text fields).
document.addEventListener('keydown', (ev) => {
  const t = /** @type {HTMLElement} */ (ev.target);
  if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && !t.closest('.xterm')) {
    const s = /** @type {HTMLInputElement|null} */ (document.querySelector('#search'));
    if (s) { ev.preventDefault(); s.focus(); }
  }
});

// A session survives reloads: ask the server (the cookie is HttpOnly).
fetch('/api/v1/auth/session', { credentials: 'same-origin' })
  .then(async (r) => (r.ok ? signedIn(await r.json()) : signedOut()))
  .catch((e) => { showError('cannot reach the server: ' + e.message); signedOut(); });
