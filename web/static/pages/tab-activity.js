// @ts-check
// Activity: the sandbox's status changes as the live feed reports them
// while the page is open (the API has no log of the container's output).
import { h } from '../ui.js';

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const log = h('ol', { class: 'log', id: 'activity', 'aria-live': 'polite' });
  const add = (/** @type {any} */ s) => log.append(h('li', {}, h('time', {}, new Date().toLocaleTimeString()), ' ', h('strong', {}, s.status), s.reason ? ' — ' + s.reason : ''));
  panel.append(h('p', { class: 'muted' }, 'Status changes, live while this page is open.'), log);
  add(sb);
  ctx.onChange(add);
}
