// @ts-check
// The file browser: list a directory, open folders, download, upload,
// delete and view text files, through /sandboxes/{id}/files.
import { call, getText, sbPath, inWorkspace } from '../api.js';
import { h, run, bytes, ago, table, field } from '../ui.js';

/** @param {HTMLElement} panel @param {any} sb */
export function render(panel, sb) {
  if (sb.status !== 'running') {
    panel.append(h('p', { class: 'muted' }, `The sandbox is ${sb.status}; files can be browsed while it runs.`));
    return;
  }
  const base = sbPath(sb.id) + '/files';
  const pathIn = /** @type {HTMLInputElement} */ (h('input', { id: 'files-path', name: 'path', value: '/root' }));
  const list = h('div', { id: 'files-list' });
  const viewer = h('div', { id: 'files-viewer' });
  const upload = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'files-upload', multiple: true }));
  let seq = 0; // a slow answer for a directory left since must not win
  const load = () => run(async () => {
    const mine = ++seq;
    const dir = pathIn.value.replace(/\/+$/, '') || '/';
    const res = await call('GET', `${base}/list?path=${encodeURIComponent(dir)}`);
    if (mine !== seq) return;
    const up = dir === '/' ? null : dir.replace(/\/[^/]*$/, '') || '/';
    const rows = (res.entries || []).sort((/** @type {any} */ a, /** @type {any} */ b) => (a.type === 'dir' ? 0 : 1) - (b.type === 'dir' ? 0 : 1) || a.name.localeCompare(b.name))
      .map((/** @type {any} */ e) => fileRow(e));
    if (up) rows.unshift(h('tr', {}, h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => { pathIn.value = up; load(); } }, '..')), h('td', {}), h('td', {}), h('td', {}), h('td', {})));
    list.replaceChildren(table('Files in ' + dir, ['Name', 'Size', 'Mode', 'Modified', 'Actions'], rows, 'files'));
  });
  const fileRow = (/** @type {any} */ e) => {
    const q = '?path=' + encodeURIComponent(e.path);
    const name = e.type === 'dir'
      ? h('button', { type: 'button', class: 'link', onclick: () => { pathIn.value = e.path; load(); } }, e.name + '/')
      : h('span', {}, e.name);
    return h('tr', { 'data-path': e.path },
      h('th', { scope: 'row' }, name), h('td', {}, e.type === 'dir' ? '—' : bytes(e.size)), h('td', { class: 'mono' }, e.mode_string), h('td', {}, ago(e.mtime)),
      h('td', { class: 'actions' },
        e.type === 'file' ? h('a', { class: 'button small download', href: inWorkspace('/api/v1' + base + q), download: e.name, 'aria-label': 'Download ' + e.name }, 'Download') : null,
        e.type === 'file' ? h('button', { type: 'button', class: 'small view', 'aria-label': 'View ' + e.name, onclick: () => view(e) }, 'View') : null,
        h('button', { type: 'button', class: 'small danger delete', 'aria-label': 'Delete ' + e.name, onclick: () => run(async () => {
          if (!confirm(`Delete ${e.path}${e.type === 'dir' ? ' and everything in it' : ''}?`)) return;
          await call('DELETE', base + q + (e.type === 'dir' ? '&recursive=true' : ''));
          await load();
        }) }, 'Delete')));
  };
  const view = (/** @type {any} */ e) => run(async () => {
    if (e.size > 1 << 20) throw new Error(`${e.name} is ${bytes(e.size)}; download it instead (the viewer shows up to 1 MiB)`);
    const text = await getText(base + '?path=' + encodeURIComponent(e.path));
    viewer.replaceChildren(h('div', { class: 'card' }, h('div', { class: 'term-bar' }, h('h2', {}, e.path), h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'small', onclick: () => viewer.replaceChildren() }, 'Close')), h('pre', { class: 'file-text', id: 'file-text', tabindex: '0' }, text)));
  });
  upload.addEventListener('change', () => run(async () => {
    const dir = pathIn.value.replace(/\/+$/, '');
    for (const f of Array.from(upload.files || [])) {
      await call('PUT', `${base}?path=${encodeURIComponent(dir + '/' + f.name)}`, f);
    }
    upload.value = '';
    await load();
  }));
  panel.append(
    h('form', { class: 'filters', onsubmit: (/** @type {Event} */ ev) => { ev.preventDefault(); load(); } },
      field('Directory', pathIn), h('button', { type: 'submit' }, 'Open'), field('Upload files', upload)),
    list, viewer);
  load();
}
