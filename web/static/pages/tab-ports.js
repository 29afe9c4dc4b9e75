// @ts-check
// Ports: the ports a devcontainer.json declares (forwardPorts, with
// portsAttributes labels), the ports open for the preview proxy
// (/sandboxes/{id}/ports), and signed preview links (POST preview-urls):
// made with a lifetime, copied or opened in a new tab. A link cannot be
// revoked alone: closing its port revokes every link to it.
import { call, sbPath } from '../api.js';
import { h, run, ago, table, field, copyButton, fieldErrors, clearFieldErrors, showError } from '../ui.js';

/** @typedef {import('../api.js').S['Port']} Port */
/** @typedef {import('../api.js').S['PreviewURL']} PreviewURL */

/** Preview link lifetimes offered (the API takes up to 168h). */
const LIFETIMES = [['15m', '15 minutes'], ['1h', '1 hour'], ['8h', '8 hours'], ['24h', '1 day'], ['168h', '7 days']];

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const base = sbPath(sb.id);
  const declared = h('div', { id: 'ports-declared' });
  const list = h('div', { id: 'ports-list' });
  const result = h('div', { id: 'preview-result', 'aria-live': 'polite' });
  /** @type {Port[]} */
  let open = [];
  let timer = 0;

  // Open a port.
  const pPort = h('input', { id: 'port-port', name: 'port', type: 'number', min: 1, max: 65535, required: true, inputmode: 'numeric', placeholder: '8080' });
  const pLabel = h('input', { id: 'port-label', name: 'label', maxlength: 100, placeholder: 'web' });
  const pPublic = h('input', { id: 'port-public', name: 'public', type: 'checkbox' });
  const portForm = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'port-form' }, h('h2', {}, 'Open a port'),
    h('p', { class: 'muted' }, 'Requests to its proxy path reach the port inside the sandbox, with an API key or a preview link; a public port needs neither.'),
    h('div', { class: 'inline-form' }, field('Port', pPort), field('Label', pLabel),
      h('label', { class: 'check' }, pPublic, 'Public (no credential)'), h('button', { type: 'submit', class: 'primary' }, 'Open'))));
  portForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(portForm, async () => {
      await call('POST', base + '/ports', { port: Number(/** @type {HTMLInputElement} */ (pPort).value), label: /** @type {HTMLInputElement} */ (pLabel).value.trim() || undefined,
        public: /** @type {HTMLInputElement} */ (pPublic).checked || undefined });
      portForm.reset();
      await load();
    });
  });

  // Make a preview link.
  const lPort = h('input', { id: 'preview-port', name: 'port', type: 'number', min: 1, max: 65535, required: true, inputmode: 'numeric', placeholder: '8080' });
  const lTTL = /** @type {HTMLSelectElement} */ (h('select', { id: 'preview-ttl', name: 'ttl' }, LIFETIMES.map(([v, label]) => h('option', { value: v, selected: v === '1h' }, label))));
  const linkForm = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'preview-form' }, h('h2', {}, 'Preview link'),
    h('p', { class: 'muted' }, 'A signed link anyone can open until it expires, without an API key (the port is opened if it is not).'),
    h('div', { class: 'inline-form' }, field('Port', lPort), field('Works for', lTTL), h('button', { type: 'submit', class: 'primary' }, 'Create link')),
    result));
  linkForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit(linkForm, () => makeLink(Number(/** @type {HTMLInputElement} */ (lPort).value), lTTL.value));
  });

  /** @param {HTMLFormElement} form @param {() => Promise<any>} fn */
  const submit = async (form, fn) => {
    clearFieldErrors(form);
    try {
      await fn();
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) showError(err.message);
    }
  };

  /** @param {number} port @param {string} ttl */
  const makeLink = async (port, ttl) => {
    /** @type {PreviewURL} */
    const link = await call('POST', base + '/preview-urls', { port, ttl });
    showLink(link);
    await load();
  };

  /** @param {PreviewURL} link */
  const showLink = (link) => {
    if (timer) clearTimeout(timer);
    const exp = h('span', { id: 'preview-expires', 'data-state': 'valid' }, 'Works until ', h('time', { datetime: link.expires_at }, new Date(link.expires_at).toLocaleString()),
      ` (${ago(link.expires_at)}).`);
    result.replaceChildren(h('div', { class: 'notice', id: 'preview-link', 'data-port': String(link.port) },
      h('div', { class: 'preview-url' },
        h('a', { id: 'preview-url', href: link.url, target: '_blank', rel: 'noopener noreferrer' }, link.url),
        copyButton(() => link.url, 'Copy link'),
        h('a', { class: 'button small', href: link.url, target: '_blank', rel: 'noopener noreferrer', 'aria-label': `Open the preview of port ${link.port} in a new tab` }, 'Open ↗')),
      h('p', { class: 'hint' }, exp, ` To revoke it sooner, close port ${link.port}: that revokes every link to it.`)));
    const left = Date.parse(link.expires_at) - Date.now();
    if (left < 2 ** 31) {
      timer = window.setTimeout(() => {
        exp.dataset.state = 'expired';
        exp.textContent = 'This link has expired; create a new one.';
      }, Math.max(0, left));
    }
  };

  const load = () => run(async () => {
    if (sb.status !== 'running' && sb.status !== 'stopped') {
      list.replaceChildren(h('p', { class: 'muted' }, `The sandbox is ${sb.status}.`));
      return;
    }
    const res = await call('GET', base + '/ports');
    open = res.items || [];
    list.replaceChildren(open.length
      ? table('Open ports', ['Port', 'Label', 'Access', 'Opened', 'Actions'], open.map(portRow), 'ports')
      : h('p', { class: 'muted', id: 'ports-empty' }, 'No port is open. Open one, or create a preview link, below.'));
    drawDeclared();
  });

  const portRow = (/** @type {Port} */ p) => h('tr', { 'data-port': String(p.port) },
    h('th', { scope: 'row', class: 'mono' }, String(p.port)),
    h('td', {}, p.label || '—'),
    h('td', {}, p.public ? 'public' : 'API key or preview link', h('span', { class: 'reason mono' }, p.path)),
    h('td', { title: p.created_at }, ago(p.created_at)),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'small make-link', 'aria-label': `Preview link to port ${p.port}`, onclick: () => run(() => makeLink(p.port, lTTL.value)) }, 'Preview link'),
      h('button', { type: 'button', class: 'small danger close-port', 'aria-label': `Close port ${p.port}`, onclick: () => run(async () => {
        if (!confirm(`Close port ${p.port}? The proxy refuses it from now on and every preview link to it stops working.`)) return;
        await call('DELETE', `${base}/ports/${p.port}`);
        const shown = /** @type {HTMLElement|null} */ (result.querySelector('#preview-link'));
        if (shown && shown.dataset.port === String(p.port)) {
          if (timer) clearTimeout(timer);
          const exp = /** @type {HTMLElement} */ (shown.querySelector('#preview-expires'));
          exp.dataset.state = 'revoked';
          exp.textContent = 'Revoked: the port was closed.';
        }
        await load();
      }) }, 'Close')));

  // forwardPorts of the sandbox's devcontainer.json, with their labels.
  const drawDeclared = () => {
    const dc = /** @type {any} */ (sb.devcontainer || {});
    /** @type {string[]} */
    const fwd = (dc.forwardPorts || []).map(String);
    if (!fwd.length) {
      declared.replaceChildren();
      return;
    }
    const attrs = dc.portsAttributes || {};
    declared.replaceChildren(h('section', { class: 'card' }, h('h2', {}, 'Declared by devcontainer.json'),
      table('Forwarded ports', ['Port', 'Label', 'State', 'Actions'], fwd.map((f) => {
        const n = /^\d+$/.test(f) ? Number(f) : 0;
        const a = attrs[f] || {};
        const isOpen = open.some((p) => p.port === n);
        return h('tr', { 'data-forward': f },
          h('th', { scope: 'row', class: 'mono' }, f), h('td', {}, a.label || '—'),
          h('td', {}, n ? (isOpen ? 'open' : 'not open') : 'another container: use codepod sandbox port-forward'),
          h('td', { class: 'actions' }, n && !isOpen ? h('button', { type: 'button', class: 'small', 'aria-label': `Open port ${f}`, onclick: () => run(async () => {
            await call('POST', base + '/ports', { port: n, label: a.label || undefined });
            await load();
          }) }, 'Open') : null));
      }), 'ports-forward')));
  };

  panel.append(declared, h('section', { class: 'card' }, h('h2', {}, 'Open ports'), list), linkForm, portForm);
  ctx.onChange((/** @type {any} */ changed) => { sb = changed; });
  load();
  return () => { if (timer) clearTimeout(timer); };
}
