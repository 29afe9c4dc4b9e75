// @ts-check
// Users (admins): create, disable and enable, delete, reset a password.
import { call } from '../api.js';
import { h, run, ago, table, field } from '../ui.js';
import { submit } from './keys.js';

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  const list = h('div', { id: 'users-list' });
  const who = /** @type {HTMLSelectElement} */ (h('select', { name: 'user', id: 'reset-user', required: true }));
  const load = () => run(async () => {
    const res = await call('GET', '/users?limit=500');
    who.replaceChildren(...res.items.map((/** @type {any} */ u) => h('option', { value: u.id }, u.email)));
    list.replaceChildren(table('Users', ['Email', 'Name', 'Role', 'State', 'Created', 'Actions'], res.items.map((/** @type {any} */ u) => {
      const self = u.id === ctx.me.id;
      const act = (/** @type {string} */ label, /** @type {string} */ cls, /** @type {string} */ q, /** @type {() => Promise<any>} */ fn) =>
        h('button', { type: 'button', class: 'small ' + cls, disabled: self, 'aria-label': `${label} ${u.email}`, onclick: () => run(async () => {
          if (q && !confirm(q)) return;
          await fn();
          await load();
        }) }, label);
      return h('tr', { 'data-email': u.email },
        h('th', { scope: 'row' }, u.email), h('td', {}, u.name), h('td', {}, u.admin ? 'admin' : 'user'),
        h('td', {}, u.deleting ? 'deleting' : u.disabled ? 'disabled' : 'active'), h('td', {}, ago(u.created_at)),
        h('td', { class: 'actions' },
          u.disabled ? act('Enable', '', '', () => call('POST', `/users/${u.id}/enable`))
            : act('Disable', '', `Disable ${u.email}? Their keys stop working and their terminals end.`, () => call('POST', `/users/${u.id}/disable`)),
          act('Delete', 'danger', `Delete ${u.email}?`, () => call('DELETE', `/users/${u.id}`))));
    }), 'users'));
  });
  const form = /** @type {HTMLFormElement} */ (h('form', { id: 'create-user', class: 'inline-form' },
    field('Email', h('input', { name: 'email', type: 'email', required: true })),
    field('Name', h('input', { name: 'name' })),
    field('Password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password' }), 'At least 8 characters; empty: API keys only.'),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'admin', value: 'true' }), ' Admin'),
    h('button', { type: 'submit', class: 'primary' }, 'Create user')));
  form.addEventListener('submit', (ev) => submit(ev, form, async (/** @type {any} */ body) => {
    await call('POST', '/users', body);
    await load();
  }));
  const reset = /** @type {HTMLFormElement} */ (h('form', { id: 'reset-password', class: 'inline-form' },
    field('User', who),
    field('New password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' })),
    h('button', { type: 'submit' }, 'Set password'), h('span', { class: 'muted', role: 'status', id: 'reset-done' })));
  reset.addEventListener('submit', (ev) => submit(ev, reset, async (/** @type {any} */ body) => {
    await call('PATCH', '/users/' + encodeURIComponent(who.value), { password: body.password });
    /** @type {HTMLElement} */ (reset.querySelector('#reset-done')).textContent = 'Password set.';
  }));
  view.append(h('div', { class: 'page-head' }, h('h1', {}, 'Users')), h('section', { class: 'card' }, h('h2', {}, 'New user'), form), list,
    h('section', { class: 'card' }, h('h2', {}, 'Reset a password'), reset));
  load();
}
