// @ts-check
// Network: the sandbox's policy (mode, allow and deny lists), a form to
// change it while the sandbox runs (PUT /network-policy), and the net log
// of what the policy refused.
import { call, sbPath } from '../api.js';
import { h, run, field, fieldErrors, clearFieldErrors, lines, table, showError } from '../ui.js';

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const p = sb.network_policy;
  const show = h('section', { class: 'card', id: 'policy' });
  const drawShow = (/** @type {any} */ p) => show.replaceChildren(h('h2', {}, 'Policy'), p
    ? h('dl', { class: 'props' },
      h('dt', {}, 'Mode'), h('dd', { id: 'policy-mode' }, p.mode),
      h('dt', {}, 'Allow'), h('dd', { id: 'policy-allow' }, p.allow && p.allow.length ? p.allow.map((/** @type {string} */ a) => h('code', { class: 'tag' }, a)) : '—'),
      h('dt', {}, 'Deny'), h('dd', { id: 'policy-deny' }, p.deny && p.deny.length ? p.deny.map((/** @type {string} */ a) => h('code', { class: 'tag' }, a)) : '—'))
    : h('p', { id: 'policy-mode' }, `No policy: network mode ${sb.network} (${sb.network === 'none' ? 'loopback only' : 'outbound access'}). A policy is set when the sandbox is created.`));
  drawShow(p);
  panel.append(show);
  if (!p) return;
  const mode = h('select', { name: 'policy_mode', id: 'edit-mode' }, ['none', 'internet', 'allow'].map((m) => h('option', { value: m, selected: m === p.mode }, m)));
  const allow = h('textarea', { name: 'allow', id: 'edit-allow', rows: 4 }, (p.allow || []).join('\n'));
  const deny = h('textarea', { name: 'deny', id: 'edit-deny', rows: 3 }, (p.deny || []).join('\n'));
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'policy-form' }, h('h2', {}, 'Change the policy'),
    field('Mode', mode), field('Allow', allow, 'One per line: CIDR, host:port, domain or *.domain.'), field('Deny', deny),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'), h('span', { class: 'muted', id: 'policy-saved', role: 'status' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = { mode: /** @type {HTMLSelectElement} */ (mode).value, allow: lines(/** @type {HTMLTextAreaElement} */ (allow).value), deny: lines(/** @type {HTMLTextAreaElement} */ (deny).value) };
    try {
      const next = await call('PUT', sbPath(sb.id) + '/network-policy', body);
      drawShow(next.network_policy);
      /** @type {HTMLElement} */ (form.querySelector('#policy-saved')).textContent = 'Applied.';
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) showError(err.message);
    }
  });
  const log = h('div', { id: 'net-log' });
  panel.append(form, h('section', { class: 'card' }, h('h2', {}, 'Refused connections'),
    h('button', { type: 'button', onclick: () => run(async () => {
      const res = await call('GET', sbPath(sb.id) + '/net-log');
      log.replaceChildren(res.entries.length ? table('Refused connections', ['Destination', 'Reason', 'Packets'],
        res.entries.map((/** @type {any} */ e) => h('tr', {}, h('td', { class: 'mono' }, e.destination), h('td', {}, e.reason), h('td', {}, String(e.packets))))) : h('p', {}, 'Nothing refused since it started.'));
    }) }, 'Show the net log'), log));
  void ctx;
}
