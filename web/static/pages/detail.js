// @ts-check
// A sandbox's page: a header with its status and actions, and tabs. To add
// a tab (processes, preview links…), add an entry to TABS: its id is the
// URL's last part (#/sandboxes/ID/<id>) and render(panel, sb, ctx) fills
// the panel and may return a cleanup function.
import { call, sbPath, canWrite } from '../api.js';
import { h, run, badge, pairs, ago, copyButton } from '../ui.js';
import { subscribe } from '../live.js';
import * as overview from './tab-overview.js';
import * as terminal from './tab-terminal.js';
import * as files from './tab-files.js';
import * as logs from './tab-logs.js';
import * as network from './tab-network.js';
import * as activity from './tab-activity.js';
import * as processes from './tab-processes.js';
import * as ports from './tab-ports.js';

/** @type {{id: string, label: string, page: {render: (panel: HTMLElement, sb: any, ctx: any) => any, live?: boolean}}[]} */
export const TABS = [
  { id: 'overview', label: 'Overview', page: overview },
  { id: 'terminal', label: 'Terminal', page: terminal },
  { id: 'logs', label: 'Logs', page: logs },
  { id: 'files', label: 'Files', page: files },
  { id: 'processes', label: 'Processes', page: processes },
  { id: 'ports', label: 'Ports', page: ports },
  { id: 'network', label: 'Network', page: network },
  { id: 'activity', label: 'Activity', page: activity },
];

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  const [id, tabID = 'overview'] = ctx.params;
  const tab = TABS.find((t) => t.id === tabID) || TABS[0];
  const head = h('div', { class: 'page-head' });
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Sandbox sections' },
    TABS.map((t) => h('a', { href: `#/sandboxes/${encodeURIComponent(id)}/${t.id}`, id: 'tab-' + t.id, 'aria-current': t === tab ? 'page' : null }, t.label)));
  const panel = h('section', { class: 'panel', id: 'panel-' + tab.id, 'aria-labelledby': 'tab-' + tab.id });
  view.append(head, tabs, panel);
  /** @type {any} */
  let sb = null;
  /** @type {any} */
  let panelCleanup = null;
  let unsub = () => {};
  const drawHead = () => {
    const running = sb.status === 'running';
    const act = (/** @type {string} */ label, /** @type {string} */ cls, /** @type {() => Promise<any>} */ fn, /** @type {boolean} */ on) =>
      h('button', { type: 'button', class: cls, id: 'action-' + label.toLowerCase(), disabled: !on || !canWrite(), onclick: () => run(fn) }, label);
    head.replaceChildren(...[
      h('h1', {}, h('a', { href: '#/sandboxes', class: 'crumb' }, 'Sandboxes'), ' / ', h('span', { id: 'sb-name' }, sb.name)),
      h('span', { id: 'sb-status', 'data-status': sb.status }, badge(sb.status)),
      sb.reason ? h('span', { class: 'reason', id: 'sb-reason' }, sb.reason) : null,
      h('div', { class: 'head-actions' },
        act('Stop', '', () => confirmThen(`Stop ${sb.name}? Its processes end; its files stay.`, () => call('POST', sbPath(sb.id) + '/stop')), running),
        act('Start', '', () => call('POST', sbPath(sb.id) + '/start'), sb.status === 'stopped'),
        act('Delete', 'danger', () => confirmThen(`Delete sandbox ${sb.name}? Its files are lost.`, async () => {
          await call('DELETE', sbPath(sb.id));
          ctx.go('#/sandboxes');
        }), sb.status !== 'deleting' && sb.status !== 'deleted'))].filter(Boolean));
  };
  run(async () => {
    sb = await call('GET', sbPath(id));
    drawHead();
    panelCleanup = tab.page.render(panel, sb, { ...ctx, onChange: (/** @type {(sb: any) => void} */ f) => { changes.push(f); } });
    /** @type {((sb: any) => void)[]} */
    unsub = subscribe((_list, changed) => {
      if (!changed || changed.id !== sb.id) return;
      sb = changed;
      drawHead();
      changes.forEach((f) => f(sb));
    });
  });
  /** @type {((sb: any) => void)[]} */
  const changes = [];
  return () => { unsub(); if (typeof panelCleanup === 'function') panelCleanup(); };
}

/** @param {string} q @param {() => Promise<any>} fn */
async function confirmThen(q, fn) {
  if (confirm(q)) await fn();
}

export { pairs, ago, copyButton };
