// @ts-check
// Runners (admins): status, labels, capacity and use, version, last seen.
import { call } from '../api.js';
import { h, run, badge, pairs, ago, bytes, table } from '../ui.js';

/** @param {HTMLElement} view */
export function render(view) {
  const body = h('div', { id: 'runners-list' });
  view.append(h('div', { class: 'page-head' }, h('h1', {}, 'Runners'), h('button', { type: 'button', onclick: () => load() }, 'Refresh')), body);
  const load = () => run(async () => {
    const res = await call('GET', '/runners?limit=500');
    const cap = (/** @type {number} */ used, /** @type {number} */ max, /** @type {(n: number) => string} */ fmt) => {
      const pct = max ? Math.min(100, Math.round((100 * used) / max)) : 0;
      return h('div', { class: 'meter-cell' }, `${fmt(used)} / ${max ? fmt(max) : '∞'}`,
        max ? h('meter', { min: '0', max: '100', value: String(pct), 'aria-label': `${pct}% used` }) : null);
    };
    body.replaceChildren(res.items.length ? table('Runners', ['Name', 'Status', 'Labels', 'Sandboxes', 'Memory', 'Runtimes', 'Version', 'Last seen'],
      res.items.map((/** @type {import('../../types').components['schemas']['Runner']} */ r) => h('tr', { 'data-name': r.name, 'data-id': r.id },
        h('th', { scope: 'row' }, r.name), h('td', {}, badge(r.status)), h('td', {}, pairs(r.labels).map((l) => h('span', { class: 'tag' }, l))),
        h('td', { class: 'cap-sandboxes' }, cap(r.usage.sandboxes, r.capacity.sandboxes, String)),
        h('td', { class: 'cap-memory' }, cap(r.usage.memory_bytes, r.capacity.memory_bytes, bytes)),
        h('td', {}, (r.runtimes || []).join(', ')), h('td', { class: 'mono' }, r.version), h('td', { title: r.last_seen_at }, ago(r.last_seen_at)))), 'runners')
      : h('p', { class: 'empty' }, 'No runners yet. Register one with codepod runner-token create and codepod runner.'));
  });
  load();
}
