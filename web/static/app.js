// @ts-check
// CodePod's web UI: sign-in, then pages chosen by the URL's hash
// (#/sandboxes, #/sandboxes/ID/terminal, #/runners, …). Each page is a
// module in pages/ exporting render(view, ctx) that fills view and returns
// an optional cleanup function.
import { call, setCSRF } from './api.js';
import { $, h, run, showError } from './ui.js';
import { stop as stopLive } from './live.js';
import * as signin from './pages/signin.js';
import * as sandboxes from './pages/sandboxes.js';
import * as create from './pages/create.js';
import * as detail from './pages/detail.js';
import * as runners from './pages/runners.js';
import * as keys from './pages/keys.js';
import * as users from './pages/users.js';

/** @typedef {{me: any, go: (hash: string) => void, params: string[]}} Ctx */

/** @type {{pattern: RegExp, page: any, nav?: string, admin?: boolean}[]} */
const routes = [
  { pattern: /^#\/sandboxes\/?$/, page: sandboxes, nav: 'sandboxes' },
  { pattern: /^#\/new$/, page: create, nav: 'sandboxes' },
  { pattern: /^#\/sandboxes\/([^/]+)(?:\/([a-z-]+))?$/, page: detail, nav: 'sandboxes' },
  { pattern: /^#\/runners$/, page: runners, nav: 'runners', admin: true },
  { pattern: /^#\/keys$/, page: keys, nav: 'keys' },
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
  cleanup = r.page.render(view, { me, go, params }) || null;
  const heading = /** @type {HTMLElement|null} */ (view.querySelector('h1'));
  if (heading) document.title = heading.textContent + ' · CodePod';
}

function renderNav(/** @type {string} */ active = '') {
  const nav = $('#nav');
  $('#who').textContent = me ? me.email : '';
  $('#signout').hidden = !me;
  if (!me) { nav.replaceChildren(); return; }
  const items = [['sandboxes', 'Sandboxes'], ['keys', 'Keys'], ...(me.admin ? [['runners', 'Runners'], ['users', 'Users']] : [])];
  nav.replaceChildren(...items.map(([id, label]) => h('a', { href: '#/' + id, id: 'nav-' + id, 'aria-current': id === active ? 'page' : null }, label)),
    h('a', { href: '/docs' }, 'API docs'));
}

function signedIn(/** @type {any} */ session) {
  setCSRF(session.csrf_token);
  me = session.user;
  document.body.dataset.signedIn = 'true';
  if (!location.hash || location.hash === '#/signin') location.hash = '#/sandboxes';
  else route();
}

function signedOut() {
  if (cleanup) { cleanup(); cleanup = null; }
  me = null;
  stopLive();
  setCSRF('');
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
