// @ts-check
// Overview: the spec, status and reason, runner, timestamps, host key and
// how to connect with SSH.
import { h, pairs, ago, copyButton, bytes } from '../ui.js';

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const draw = (/** @type {import('../api.js').Sandbox} */ sb) => {
    const dl = (/** @type {[string, any][]} */ rows) => h('dl', { class: 'props' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    const when = (/** @type {string|undefined} */ t) => (t ? h('time', { datetime: t, title: t }, `${new Date(t).toLocaleString()} (${ago(t)})`) : 'never');
    const config = `codepod ssh-config ${sb.name} >> ~/.ssh/config`;
    const ssh = `ssh codepod-${sb.name}`;
    panel.replaceChildren(
      h('div', { class: 'cards' },
        h('section', { class: 'card' }, h('h2', {}, 'Spec'), dl([
          ['Image', h('code', {}, sb.image)], ['CPU', String(sb.cpu)], ['Memory', `${sb.memory} (${bytes(sb.memory_bytes)})`],
          ['Processes', String(sb.pids_limit)], ['Runtime', sb.runtime], ['Network', sb.network_policy ? `policy ${sb.network_policy.mode}` : sb.network],
          ['Environment', pairs(sb.env).map((p) => h('code', { class: 'tag' }, p))], ['Labels', pairs(sb.labels).map((p) => h('span', { class: 'tag' }, p))],
          ['Runner labels', pairs(sb.runner_labels).map((p) => h('span', { class: 'tag' }, p))],
        ])),
        h('section', { class: 'card' }, h('h2', {}, 'State'), dl([
          ['Status', h('span', { id: 'ov-status' }, sb.status)], ['Reason', sb.reason || '—'], ['Runner', h('code', {}, sb.runner_id || 'not placed')],
          ['Created', when(sb.created_at)], ['Updated', when(sb.updated_at)],
          ['TTL', sb.ttl_seconds ? `${sb.ttl_seconds} s` : 'none'], ['Expires', when(sb.expires_at)], ['ID', h('code', {}, sb.id)],
        ])),
        h('section', { class: 'card' }, h('h2', {}, 'Connect with SSH'),
          h('p', {}, 'Add a Host block (proxied through the server, host key pinned) once:'),
          h('pre', { class: 'cmd', id: 'ssh-config' }, h('code', {}, config)), copyButton(() => config),
          h('p', {}, 'then:'), h('pre', { class: 'cmd', id: 'ssh-line' }, h('code', {}, ssh)), copyButton(() => ssh),
          h('p', {}, 'Host key fingerprint: ', h('code', { id: 'fingerprint', class: 'wrap' }, sb.host_key_fingerprint || 'not known yet')))));
  };
  draw(sb);
  ctx.onChange(draw);
}
