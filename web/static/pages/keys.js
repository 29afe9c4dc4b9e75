// @ts-check
// The caller's API keys (create — shown once, with a copy button — list
// with last use, revoke) and SSH public keys (add, list, delete).
import { call } from '../api.js';
import { h, run, ago, table, field, copyButton, fieldErrors, clearFieldErrors } from '../ui.js';

/** @param {HTMLElement} view */
export function render(view) {
  const keys = h('div', { id: 'keys-list' });
  const fresh = h('div', { id: 'new-key', 'aria-live': 'polite' });
  const ssh = h('div', { id: 'ssh-keys-list' });
  const loadKeys = () => run(async () => {
    const res = await call('GET', '/api-keys?limit=500');
    keys.replaceChildren(table('API keys', ['Name', 'Prefix', 'Created', 'Last used', 'Expires', ''],
      res.items.map((/** @type {import('../../types').components['schemas']['APIKey']} */ k) => h('tr', { 'data-id': k.id, 'data-name': k.name },
        h('th', { scope: 'row' }, k.name), h('td', { class: 'mono' }, k.prefix), h('td', {}, ago(k.created_at)),
        h('td', { class: 'last-used' }, k.last_used_at ? ago(k.last_used_at) : 'never'), h('td', {}, k.expires_at ? ago(k.expires_at) : 'never'),
        h('td', {}, h('button', { type: 'button', class: 'small danger revoke', 'aria-label': 'Revoke ' + k.name, onclick: () => run(async () => {
          if (!confirm(`Revoke the key ${k.name} (${k.prefix})? Programs using it stop working at once.`)) return;
          await call('DELETE', '/api-keys/' + encodeURIComponent(k.id));
          await loadKeys();
        }) }, 'Revoke')))), 'keys'));
  });
  const loadSSH = () => run(async () => {
    const res = await call('GET', '/ssh-keys');
    const items = res.items || [];
    ssh.replaceChildren(items.length ? table('SSH keys', ['Name', 'Fingerprint', 'Added', ''], items.map((/** @type {any} */ k) => h('tr', { 'data-name': k.name },
      h('th', { scope: 'row' }, k.name), h('td', { class: 'mono wrap' }, k.fingerprint), h('td', {}, ago(k.created_at)),
      h('td', {}, h('button', { type: 'button', class: 'small danger', 'aria-label': 'Delete SSH key ' + k.name, onclick: () => run(async () => {
        if (!confirm(`Delete the SSH key ${k.name}?`)) return;
        await call('DELETE', '/ssh-keys/' + encodeURIComponent(k.id));
        await loadSSH();
      }) }, 'Delete')))), 'ssh-keys') : h('p', { class: 'empty' }, 'No SSH keys: add one to log in to your sandboxes with ssh.'));
  });
  const keyForm = /** @type {HTMLFormElement} */ (h('form', { id: 'create-key', class: 'inline-form' },
    field('Name', h('input', { name: 'name', id: 'key-name', required: true, placeholder: 'laptop' })),
    field('Expires in', h('input', { name: 'expires_in', id: 'key-expires', placeholder: '30d (empty: never)' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create key')));
  keyForm.addEventListener('submit', (ev) => submit(ev, keyForm, async (/** @type {any} */ body) => {
    const k = await call('POST', '/api-keys', body);
    fresh.replaceChildren(h('div', { class: 'notice' },
      h('p', {}, 'Your new key — copy it now, it is not shown again:'),
      h('pre', { class: 'cmd' }, h('code', { id: 'new-key-value' }, k.key)), copyButton(() => k.key),
      h('button', { type: 'button', class: 'small', onclick: () => fresh.replaceChildren() }, 'Done')));
    await loadKeys();
  }));
  const sshForm = /** @type {HTMLFormElement} */ (h('form', { id: 'create-ssh-key', class: 'inline-form' },
    field('Name', h('input', { name: 'name', required: true, placeholder: 'laptop' })),
    field('Public key', h('textarea', { name: 'public_key', required: true, rows: 2, placeholder: 'ssh-ed25519 AAAA… you@host' })),
    h('button', { type: 'submit', class: 'primary' }, 'Add SSH key')));
  sshForm.addEventListener('submit', (ev) => submit(ev, sshForm, async (/** @type {any} */ body) => {
    await call('POST', '/ssh-keys', body);
    await loadSSH();
  }));
  view.append(h('div', { class: 'page-head' }, h('h1', {}, 'Keys')),
    h('section', { class: 'card' }, h('h2', {}, 'API keys'), keyForm, fresh, keys),
    h('section', { class: 'card' }, h('h2', {}, 'SSH keys'), sshForm, ssh));
  loadKeys();
  loadSSH();
}

/**
 * submit posts the form's non-empty fields through fn, showing problems
 * next to the fields, and resets the form when it worked.
 * @param {Event} ev @param {HTMLFormElement} form @param {(body: any) => Promise<void>} fn
 */
export async function submit(ev, form, fn) {
  ev.preventDefault();
  clearFieldErrors(form);
  /** @type {Record<string, any>} */
  const body = {};
  new FormData(form).forEach((v, k) => {
    const el = /** @type {HTMLInputElement} */ (form.elements.namedItem(k));
    if (el && el.type === 'checkbox') body[k] = true;
    else if (String(v).trim()) body[k] = String(v).trim();
  });
  try {
    await fn(body);
    form.reset();
  } catch (e) {
    const err = /** @type {any} */ (e);
    if (!fieldErrors(form, err.problem, err.message)) run(() => Promise.reject(err));
  }
}
