// @ts-check
// The create form: every option of POST /sandboxes, with the API's problem
// details shown next to their fields (errors[].location) and kept there,
// with the values, until the next submit.
import { call, canWrite } from '../api.js';
import { h, field, fieldErrors, clearFieldErrors, parsePairs, lines, showError } from '../ui.js';

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  if (!canWrite()) {
    view.append(h('div', { class: 'page-head' }, h('h1', {}, 'New sandbox')),
      h('p', { class: 'empty', id: 'create-viewer' }, 'Your role in this workspace is viewer: it can list and read sandboxes, not create them. Ask a workspace admin for the member role.'));
    return;
  }
  const inp = (/** @type {string} */ name, /** @type {Record<string,any>} */ a = {}) => h('input', { name, id: 'f-' + name, ...a });
  const area = (/** @type {string} */ name, /** @type {string} */ ph) => h('textarea', { name, id: 'f-' + name, rows: 3, placeholder: ph });
  const sel = (/** @type {string} */ name, /** @type {string[][]} */ opts) => h('select', { name, id: 'f-' + name }, opts.map(([v, t]) => h('option', { value: v }, t)));
  const mode = sel('policy_mode', [['', 'no policy (plain network mode)'], ['none', 'none: nothing'], ['internet', 'internet: public addresses only'], ['allow', 'allow: only the allow list']]);
  const policy = h('fieldset', { class: 'policy' }, h('legend', {}, 'Network policy'),
    field('Mode', mode, 'Enforced on the runner; changeable while the sandbox runs.'),
    field('Allow', area('allow', '203.0.113.0/24\napi.example.com\n*.example.org:443'), 'CIDRs, host:port, domain names (mode allow); one per line.'),
    field('Deny', area('deny', '198.51.100.7:22'), 'CIDRs or addresses, optionally :port; refused first.'));
  const form = /** @type {HTMLFormElement} */ (h('form', { id: 'create', class: 'card grid', novalidate: true },
    field('Name', inp('name', { placeholder: 'generated', autocomplete: 'off' }), 'Lowercase letters, digits and -.'),
    field('Image', inp('image', { value: 'codepod/base:latest', required: true })),
    field('CPU', inp('cpu', { type: 'number', step: '0.1', min: '0', placeholder: '1' })),
    field('Memory', inp('memory', { placeholder: '512m' })),
    field('Process limit', inp('pids_limit', { type: 'number', min: '0', placeholder: '512' })),
    field('Disk', inp('disk', { placeholder: '10g' })),
    field('TTL', inp('ttl', { placeholder: 'e.g. 2h' }), 'Deleted when it ends; empty: never.'),
    field('Runtime', sel('runtime', [['', 'server default'], ['runc', 'runc'], ['gvisor', 'gVisor']])),
    field('Network', sel('network', [['', 'none (default)'], ['none', 'none'], ['bridge', 'bridge']]), 'Ignored when a policy is set.'),
    field('Environment', area('env', 'KEY=value, one per line')),
    field('Labels', area('labels', 'team=ml, one per line')),
    field('Runner labels', area('runner_labels', 'gpu=true')),
    policy,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create sandbox'), h('a', { href: '#/sandboxes', class: 'button' }, 'Cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const f = new FormData(form);
    const s = (/** @type {string} */ k) => String(f.get(k) || '').trim();
    /** @type {Record<string, any>} */
    const body = {};
    for (const k of ['name', 'image', 'memory', 'disk', 'ttl', 'runtime', 'network']) if (s(k)) body[k] = s(k);
    if (s('cpu')) body.cpu = Number(s('cpu'));
    if (s('pids_limit')) body.pids_limit = Number(s('pids_limit'));
    for (const k of ['env', 'labels', 'runner_labels']) { const m = parsePairs(s(k)); if (m) body[k] = m; }
    if (s('policy_mode')) {
      body.network_policy = { mode: s('policy_mode') };
      if (lines(s('allow')).length) body.network_policy.allow = lines(s('allow'));
      if (lines(s('deny')).length) body.network_policy.deny = lines(s('deny'));
    }
    try {
      const sb = await call('POST', '/sandboxes', body);
      ctx.go('#/sandboxes/' + encodeURIComponent(sb.id));
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) showError(err.message);
      const first = /** @type {HTMLElement|null} */ (form.querySelector('[aria-invalid]'));
      if (first) first.focus();
    }
  });
  view.append(h('div', { class: 'page-head' }, h('h1', {}, 'New sandbox')), form);
  /** @type {HTMLElement} */ (form.querySelector('input')).focus();
}
