// @ts-check
// DOM helpers shared by the pages: element building, the error list,
// confirmation, formatting.

/**
 * h builds an element: attributes (on* are listeners, class, dataset via
 * data-*) and children (strings become text).
 * @param {string} tag @param {Record<string, any>} [attrs] @param {...any} kids
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export const $ = (/** @type {string} */ sel, root = document) => /** @type {HTMLElement} */ (root.querySelector(sel));

/**
 * showError adds msg to the error list; it stays until dismissed.
 * @param {string} msg
 */
export function showError(msg) {
  const list = $('#errors');
  const item = h('div', { class: 'error', role: 'alert' },
    h('span', { class: 'error-text' }, msg),
    h('button', { type: 'button', class: 'icon', 'aria-label': 'Dismiss this error', title: 'Dismiss', onclick: () => item.remove() }, '×'));
  list.append(item);
}

/**
 * run calls fn and shows its error; it returns fn's value or undefined.
 * @template T @param {() => Promise<T>} fn @returns {Promise<T|undefined>}
 */
export async function run(fn) {
  try {
    return await fn();
  } catch (e) {
    const err = /** @type {any} */ (e);
    if (err && err.status === 401) window.dispatchEvent(new Event('codepod:signed-out'));
    showError(err && err.message ? err.message : String(e));
    return undefined;
  }
}

/** @param {string|undefined|null} iso */
export function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const a = Math.abs(s);
  const v = a < 60 ? a + 's' : a < 3600 ? Math.floor(a / 60) + 'm' : a < 86400 ? Math.floor(a / 3600) + 'h' : Math.floor(a / 86400) + 'd';
  return s >= 0 ? v + ' ago' : 'in ' + v;
}

/** @param {number} n */
export function bytes(n) {
  if (!n) return '0';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : String(n)) + ' ' + u[i];
}

/** @param {Record<string,string>|undefined} m */
export const pairs = (m) => Object.entries(m || {}).map(([k, v]) => `${k}=${v}`);

/**
 * parsePairs reads KEY=VALUE lines (or comma-separated) into an object.
 * @param {string} text @returns {Record<string,string>|undefined}
 */
export function parsePairs(text) {
  /** @type {Record<string,string>} */
  const out = {};
  for (const part of text.split(/[\n,]/)) {
    const t = part.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i).trim()] = t.slice(i + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

/** @param {string} text @returns {string[]} */
export const lines = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

/** @param {string} status */
export const badge = (status) => h('span', { class: 'badge s-' + status }, status);

/**
 * copyButton copies text to the clipboard.
 * @param {() => string} text @param {string} [label]
 */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'small', onclick: async () => {
    try {
      await navigator.clipboard.writeText(text());
      b.textContent = 'Copied';
    } catch {
      b.textContent = 'Select and copy';
    }
    setTimeout(() => { b.textContent = label; }, 1500);
  } }, label);
  return b;
}

/**
 * fieldErrors shows a problem's errors next to the form's fields
 * (errors[].location "body.memory" → the field named memory; a detail that
 * starts with a field's name goes there too) and returns whether any was
 * placed. Messages stay until the next submit.
 * @param {HTMLFormElement} form @param {any} problem @param {string} detail
 */
export function fieldErrors(form, problem, detail) {
  clearFieldErrors(form);
  let placed = false;
  const place = (/** @type {string} */ name, /** @type {string} */ msg) => {
    const field = /** @type {HTMLElement|null} */ (form.querySelector(`[name="${name}"]`));
    if (!field) return false;
    const id = 'err-' + name.replace(/[^a-z0-9_-]/gi, '-');
    let p = /** @type {HTMLElement|null} */ (form.querySelector('#' + id));
    if (!p) {
      p = h('p', { class: 'field-error', id });
      const host = field.closest('label');
      if (host) host.append(p);
      else field.after(p);
    }
    p.textContent = p.textContent ? p.textContent + '; ' + msg : msg;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', id);
    return true;
  };
  for (const e of (problem && problem.errors) || []) {
    const loc = String(e.location || '').replace(/^body\./, '');
    const parts = loc.split(/[.[]/);
    let alias = parts[0];
    if (alias === 'network_policy') alias = parts[1] === 'allow' || parts[1] === 'deny' ? parts[1] : 'policy_mode';
    if (place(alias, e.message || detail)) placed = true;
  }
  if (!placed) {
    const word = (detail.match(/^([a-z_]+)/) || [])[1];
    if (word && place(word, detail)) placed = true;
  }
  return placed;
}

/** @param {HTMLFormElement} form */
export function clearFieldErrors(form) {
  form.querySelectorAll('.field-error').forEach((p) => p.remove());
  form.querySelectorAll('[aria-invalid]').forEach((f) => { f.removeAttribute('aria-invalid'); f.removeAttribute('aria-describedby'); });
}

/**
 * table builds a table with a caption (for screen readers) and rows.
 * @param {string} caption @param {string[]} heads @param {HTMLElement[]} rows @param {string} [id]
 */
export function table(caption, heads, rows, id) {
  // Each cell carries its column's name, which the narrow layout (rows as
  // cards) shows before the value.
  for (const r of rows) Array.from(r.children).forEach((c, i) => { if (heads[i]) /** @type {HTMLElement} */ (c).dataset.label = heads[i]; });
  return h('div', { class: 'table-wrap' }, h('table', { id },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows)));
}

/** @param {string} label @param {HTMLElement} input @param {string} [hint] */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('span', { class: 'hint' }, hint) : null);
}
