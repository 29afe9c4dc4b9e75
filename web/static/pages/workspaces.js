// @ts-check
// Workspaces (docs/workspaces.md): the caller's workspaces with their role,
// create one, switch to one ("Use" — the same as the header's switcher),
// and, where the caller is an owner or admin, its members: add by email
// with a role, change a role, remove.
import { call, currentWorkspace } from '../api.js';
import { h, run, ago, table, field } from '../ui.js';
import { submit } from './keys.js';

const ROLES = ['owner', 'admin', 'member', 'viewer'];
const enc = encodeURIComponent;

/** @typedef {import('../api.js').S['Workspace']} Workspace */
/** @typedef {import('../api.js').S['WorkspaceMember']} Member */

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  const list = h('div', { id: 'workspaces-list' });
  const members = h('div', { id: 'members', 'aria-live': 'polite' });
  /** @type {string} */
  let shown = '';
  const roleSelect = (/** @type {string} */ name, /** @type {string} */ value, /** @type {string} */ label, /** @type {Record<string,any>} */ a = {}) =>
    h('select', { name, 'aria-label': label, ...a }, ROLES.map((r) => h('option', { value: r, selected: r === value }, r)));

  const load = () => run(async () => {
    const res = await call('GET', '/workspaces');
    const cur = currentWorkspace();
    const items = /** @type {Workspace[]} */ (res.items || []);
    list.replaceChildren(table('Workspaces', ['Name', 'Role', 'Kind', 'Created', 'Actions'], items.map((w) => {
      const here = cur ? cur.id === w.id : w.personal;
      const manage = !w.personal && (w.role === 'owner' || w.role === 'admin');
      return h('tr', { 'data-id': w.id, 'data-name': w.name, 'data-role': w.role || '' },
        h('th', { scope: 'row' }, w.name, here ? h('span', { class: 'tag current' }, 'current') : null),
        h('td', { class: 'role' }, w.role || ''),
        h('td', {}, w.personal ? 'personal' : 'shared'),
        h('td', {}, ago(w.created_at)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', class: 'small use', disabled: here, 'aria-label': 'Use workspace ' + w.name, onclick: () => ctx.useWorkspace(w.id) }, 'Use'),
          w.personal ? null : h('button', { type: 'button', class: 'small members', 'aria-label': 'Members of ' + w.name, onclick: () => showMembers(w, manage) }, 'Members')));
    }), 'workspaces'));
    const again = items.find((w) => w.id === shown);
    if (again) showMembers(again, again.role === 'owner' || again.role === 'admin');
  });

  /** @param {Workspace} w @param {boolean} manage */
  const showMembers = (w, manage) => run(async () => {
    shown = w.id;
    const res = await call('GET', `/workspaces/${enc(w.id)}/members`);
    const ms = /** @type {Member[]} */ (res.items || []);
    const rows = ms.map((m) => h('tr', { 'data-user': m.user_id, 'data-email': m.email || '' },
      h('th', { scope: 'row' }, m.email || m.user_id), h('td', {}, m.name || ''),
      h('td', {}, manage
        ? roleSelect('role', m.role, `Role of ${m.email || m.user_id}`, { class: 'member-role', onchange: (/** @type {Event} */ ev) => run(async () => {
          await call('PATCH', `/workspaces/${enc(w.id)}/members/${enc(m.user_id)}`, { role: /** @type {HTMLSelectElement} */ (ev.target).value });
          await showMembers(w, manage);
        }) })
        : m.role),
      h('td', {}, ago(m.created_at)),
      h('td', { class: 'actions' }, manage ? h('button', { type: 'button', class: 'small danger remove', 'aria-label': `Remove ${m.email || m.user_id} from ${w.name}`, onclick: () => run(async () => {
        if (!confirm(`Remove ${m.email || m.user_id} from workspace ${w.name}?`)) return;
        await call('DELETE', `/workspaces/${enc(w.id)}/members/${enc(m.user_id)}`);
        await showMembers(w, manage);
      }) }, 'Remove') : null)));
    /** @type {HTMLFormElement|null} */
    let add = null;
    if (manage) {
      const form = /** @type {HTMLFormElement} */ (h('form', { id: 'add-member', class: 'inline-form' },
        field('Email', h('input', { name: 'user', id: 'member-email', type: 'email', required: true, placeholder: 'ada@example.com' })),
        field('Role', roleSelect('role', 'member', 'Role', { id: 'member-role' })),
        h('button', { type: 'submit', class: 'primary' }, 'Add member')));
      form.addEventListener('submit', (ev) => submit(ev, form, async (/** @type {any} */ body) => {
        await call('POST', `/workspaces/${enc(w.id)}/members`, body);
        await showMembers(w, manage);
      }));
      add = form;
    }
    members.replaceChildren(h('section', { class: 'card', id: 'members-card' }, h('h2', {}, 'Members of ' + w.name),
      manage ? null : h('p', { class: 'muted' }, 'Only an owner or admin of this workspace changes its members.'),
      add, table('Members of ' + w.name, ['Email', 'Name', 'Role', 'Added', 'Actions'], rows, 'members-table')));
  });

  const form = /** @type {HTMLFormElement} */ (h('form', { id: 'create-workspace', class: 'inline-form' },
    field('Name', h('input', { name: 'name', id: 'workspace-name', required: true, placeholder: 'team-a', autocomplete: 'off' }), 'Lowercase letters, digits and -.'),
    h('button', { type: 'submit', class: 'primary' }, 'Create workspace')));
  form.addEventListener('submit', (ev) => submit(ev, form, async (/** @type {any} */ body) => {
    await call('POST', '/workspaces', body);
    await ctx.workspacesChanged();
    await load();
  }));
  view.append(h('div', { class: 'page-head' }, h('h1', {}, 'Workspaces')),
    h('p', { class: 'muted' }, 'A workspace owns sandboxes and API keys; its members act in it with their role (viewers list and read only). The switcher at the top chooses where this page acts.'),
    h('section', { class: 'card' }, h('h2', {}, 'New workspace'), form), list, members);
  load();
}
