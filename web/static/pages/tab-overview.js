// @ts-check
// Overview: the spec, status and reason, runner, timestamps, TTL (with
// Extend: PATCH /sandboxes/{id}), host key and how to connect with SSH.
import { call, sbPath } from '../api.js';
import { h, pairs, ago, copyButton, bytes, field, fieldErrors, clearFieldErrors, showError } from '../ui.js';

/** The choices of "Extend by", in seconds. */
export const EXTEND_BY = [[1800, '30 minutes'], [3600, '1 hour'], [4 * 3600, '4 hours'], [24 * 3600, '24 hours']];

/**
 * extendTTL asks for a TTL that ends `by` seconds after the sandbox's
 * current expiry (or from now without one); the API counts a TTL from
 * now, so the request is the time left plus by.
 * @param {import('../api.js').Sandbox} sb @param {number} by
 * @returns {Promise<import('../api.js').Sandbox>}
 */
export function extendTTL(sb, by) {
  const left = sb.expires_at ? Math.max(0, Math.ceil((Date.parse(sb.expires_at) - Date.now()) / 1000)) : 0;
  return call('PATCH', sbPath(sb.id), { ttl: `${left + by}s` });
}

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const cards = h('div', { class: 'cards' });
  const by = /** @type {HTMLSelectElement} */ (h('select', { id: 'ttl-by', name: 'ttl' }, EXTEND_BY.map(([s, label]) => h('option', { value: String(s), selected: s === 3600 }, label))));
  const saved = h('span', { class: 'muted', id: 'ttl-saved', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'ttl-extend' }, 'Extend');
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'ttl-form' }, h('h2', {}, 'Lifetime'),
    h('p', { id: 'ttl-now' }),
    h('div', { class: 'inline-form' }, field('Extend by', by, 'Counted from the current expiry (from now when it has none). The server may cap the TTL.'), submit),
    saved));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    saved.textContent = '';
    try {
      const next = await extendTTL(sb, Number(by.value));
      sb = next;
      draw(next);
      saved.textContent = `Extended: expires ${new Date(next.expires_at).toLocaleString()}.`;
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) showError(err.message);
    }
  });
  const when = (/** @type {string|undefined} */ t, /** @type {string|undefined} */ id = undefined) => (t ? h('time', { datetime: t, title: t, id }, `${new Date(t).toLocaleString()} (${ago(t)})`) : h('span', { id }, 'never'));
  const draw = (/** @type {import('../api.js').Sandbox} */ s) => {
    sb = s;
    const dl = (/** @type {[string, any][]} */ rows) => h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    const config = `codepod ssh-config ${s.name} >> ~/.ssh/config`;
    const ssh = `ssh codepod-${s.name}`;
    cards.replaceChildren(
      h('section', { class: 'card' }, h('h2', {}, 'Spec'), dl([
        ['Image', h('code', {}, s.image)], ['CPU', String(s.cpu)], ['Memory', `${s.memory} (${bytes(s.memory_bytes)})`],
        ['Processes', String(s.pids_limit)], ['Disk', s.disk ? `${s.disk} (${bytes(s.disk_bytes)})` : 'runner default'], ['Runtime', s.runtime], ['Network', s.network_policy ? `policy ${s.network_policy.mode}` : s.network],
        ['Environment', pairs(s.env).map((p) => h('code', { class: 'tag' }, p))], ['Labels', pairs(s.labels).map((p) => h('span', { class: 'tag' }, p))],
        ['Runner labels', pairs(s.runner_labels).map((p) => h('span', { class: 'tag' }, p))],
      ])),
      h('section', { class: 'card' }, h('h2', {}, 'State'), dl([
        ['Status', h('span', { id: 'ov-status' }, s.status)], ['Reason', s.reason || '—'], ['Runner', h('code', {}, s.runner_id || 'not placed')],
        ['Created', when(s.created_at)], ['Updated', when(s.updated_at)],
        ['TTL', h('span', { id: 'ov-ttl' }, s.ttl_seconds ? `${s.ttl_seconds} s` : 'none')], ['Expires', when(s.expires_at, 'ov-expires')],
        ['Idle stop', s.idle_timeout_seconds ? `after ${s.idle_timeout_seconds} s idle` : 'never'], ['ID', h('code', {}, s.id)],
      ])),
      h('section', { class: 'card' }, h('h2', {}, 'Connect with SSH'),
        h('p', {}, 'Add a Host block (proxied through the server, host key pinned) once:'),
        h('pre', { class: 'cmd', id: 'ssh-config' }, h('code', {}, config)), copyButton(() => config),
        h('p', {}, 'then:'), h('pre', { class: 'cmd', id: 'ssh-line' }, h('code', {}, ssh)), copyButton(() => ssh),
        h('p', {}, 'Host key fingerprint: ', h('code', { id: 'fingerprint', class: 'wrap' }, s.host_key_fingerprint || 'not known yet'))));
    /** @type {HTMLElement} */ (form.querySelector('#ttl-now')).replaceChildren(s.expires_at
      ? h('span', {}, 'Deleted at ', when(s.expires_at), ' when its TTL ends.')
      : 'No TTL: it is not deleted by time. Extending sets one.');
    submit.toggleAttribute('disabled', s.status === 'deleting' || s.status === 'deleted');
  };
  panel.append(cards, form);
  draw(sb);
  ctx.onChange(draw);
}
