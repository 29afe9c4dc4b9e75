// @ts-check
// The sandbox list: live from the events feed, filtered by status, label
// and (admins) owner, searched by name ("/" focuses the search box).
import { call, sbPath, canWrite } from '../api.js';
import { h, run, badge, pairs, ago, table, field } from '../ui.js';
import { subscribe } from '../live.js';
import { extendTTL } from './tab-overview.js';

const STATUSES = ['', 'pending', 'creating', 'running', 'stopping', 'stopped', 'starting', 'deleting', 'error', 'lost'];
/** @type {Record<string,string>} */
let owners = {};

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  const q = new URLSearchParams(sessionStorage.getItem('codepod.filters') || '');
  const search = /** @type {HTMLInputElement} */ (h('input', { id: 'search', type: 'search', placeholder: 'Search by name  ( / )', value: q.get('q') || '', 'aria-keyshortcuts': '/' }));
  const status = /** @type {HTMLSelectElement} */ (h('select', { id: 'filter-status', name: 'status' }, STATUSES.map((s) => h('option', { value: s, selected: s === (q.get('status') || '') }, s || 'any'))));
  const label = /** @type {HTMLInputElement} */ (h('input', { id: 'filter-label', placeholder: 'key=value', value: q.get('label') || '' }));
  const owner = /** @type {HTMLSelectElement} */ (h('select', { id: 'filter-owner' }, h('option', { value: '' }, 'me'), h('option', { value: '*', selected: q.get('owner') === '*' }, 'everyone')));
  const live = h('span', { id: 'live', class: 'muted', 'aria-live': 'polite' }, 'connecting…');
  const body = h('div', { id: 'list' });
  view.append(
    h('div', { class: 'page-head' }, h('h1', {}, 'Sandboxes'), live, canWrite() ? h('a', { href: '#/new', class: 'button primary', id: 'new-sandbox' }, 'New sandbox') : h('span', { class: 'muted', id: 'viewer-note' }, 'viewer: read only')),
    h('form', { class: 'filters', role: 'search', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
      field('Name', search), field('Status', status), field('Label', label), ctx.me.admin ? field('Owner', owner) : null),
    body);

  /** @type {Map<string, any>} */
  let current = new Map();
  const draw = () => {
    const f = new URLSearchParams({ q: search.value, status: status.value, label: label.value, owner: owner.value });
    sessionStorage.setItem('codepod.filters', f.toString());
    const [lk, lv] = label.value.includes('=') ? label.value.split('=', 2) : [label.value, null];
    const items = [...current.values()]
      .filter((sb) => !search.value || sb.name.includes(search.value.trim()))
      .filter((sb) => !status.value || sb.status === status.value)
      .filter((sb) => !lk.trim() || (lk.trim() in (sb.labels || {}) && (lv === null || sb.labels[lk.trim()] === lv)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const admin = ctx.me.admin && owner.value === '*';
    const heads = ['Name', 'Status', 'Image', ...(admin ? ['Owner'] : []), 'Runner', 'Labels', 'Expires', 'Network', 'Actions'];
    body.replaceChildren(items.length
      ? table('Sandboxes', heads, items.map((sb) => row(sb, admin, ctx)), 'sandboxes')
      : h('p', { class: 'empty', id: 'empty' }, current.size ? 'No sandbox matches these filters.' : 'No sandboxes yet. ', current.size || !canWrite() ? null : h('a', { href: '#/new' }, 'Create one')));
  };
  const unsub = [];
  const watch = () => {
    unsub.forEach((u) => u());
    unsub.length = 0;
    unsub.push(subscribe((list, _changed, state) => {
      current = list;
      live.textContent = state === 'live' ? '● live' : state;
      live.dataset.state = state;
      draw();
    }, ctx.me.admin && owner.value === '*'));
  };
  if (ctx.me.admin) run(async () => {
    const us = await call('GET', '/users?limit=500');
    owners = Object.fromEntries(us.items.map((/** @type {any} */ u) => [u.id, u.email]));
  });
  [search, label].forEach((el) => el.addEventListener('input', draw));
  status.addEventListener('change', draw);
  owner.addEventListener('change', watch);
  watch();
  return () => unsub.forEach((u) => u());
}

/** @param {import('../api.js').Sandbox} sb @param {boolean} admin @param {any} ctx */
function row(sb, admin, ctx) {
  const write = canWrite(); // viewers list and read only (the server refuses anyway)
  const running = sb.status === 'running' && write;
  const act = (/** @type {string} */ label, /** @type {string} */ cls, /** @type {() => Promise<any>} */ fn, /** @type {boolean} */ on) =>
    h('button', { type: 'button', class: 'small ' + cls, disabled: !on || !write, onclick: () => run(fn), 'aria-label': `${label} ${sb.name}` }, label);
  const net = sb.network_policy ? 'policy: ' + sb.network_policy.mode : sb.network;
  return h('tr', { 'data-id': sb.id, 'data-name': sb.name, 'data-status': sb.status },
    h('th', { scope: 'row', class: 'name' }, h('a', { href: '#/sandboxes/' + encodeURIComponent(sb.id) }, sb.name)),
    h('td', {}, badge(sb.status), sb.reason ? h('span', { class: 'reason' }, sb.reason) : null),
    h('td', { class: 'mono' }, sb.image),
    admin ? h('td', {}, owners[sb.owner_id] || sb.owner_id) : null,
    h('td', { class: 'mono' }, sb.runner_id || '—'),
    h('td', {}, pairs(sb.labels).map((l) => h('span', { class: 'tag' }, l))),
    h('td', { title: sb.expires_at || '' }, sb.expires_at ? ago(sb.expires_at) : 'never'),
    h('td', {}, net),
    h('td', { class: 'actions' },
      h('a', { class: 'button small open' + (running ? '' : ' disabled'), href: '#/sandboxes/' + encodeURIComponent(sb.id) + '/terminal', 'aria-disabled': running ? null : 'true', 'aria-label': `Terminal of ${sb.name}` }, 'Terminal'),
      act('Stop', 'stop', () => call('POST', sbPath(sb.id) + '/stop'), running),
      act('Start', 'start', () => call('POST', sbPath(sb.id) + '/start'), sb.status === 'stopped'),
      h('button', { type: 'button', class: 'small extend', disabled: !sb.expires_at || !write, onclick: () => run(() => extendTTL(sb, 3600)),
        title: 'Extend the TTL by an hour', 'aria-label': `+1h: extend the TTL of ${sb.name} by an hour` }, '+1h'),
      act('Delete', 'delete danger', async () => {
        if (confirm(`Delete sandbox ${sb.name}? Its files are lost.`)) await call('DELETE', sbPath(sb.id));
      }, sb.status !== 'deleting')));
}
