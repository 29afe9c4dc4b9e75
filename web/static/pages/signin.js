// @ts-check
// Sign in with email and password, or with an API key. Either way the
// server answers with an HttpOnly session cookie; no token reaches
// JavaScript or storage.
import { call } from '../api.js';
import { h, field, run, fieldErrors } from '../ui.js';

/** @param {HTMLElement} view @param {any} ctx */
export function render(view, ctx) {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true, id: 'email' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'password' });
  const key = h('input', { name: 'api_key', type: 'password', autocomplete: 'off', placeholder: 'cpk_…', required: true, id: 'key' });
  const submit = (/** @type {() => Record<string,string>} */ body) => async (/** @type {Event} */ ev) => {
    ev.preventDefault();
    const form = /** @type {HTMLFormElement} */ (ev.target);
    try {
      const s = await call('POST', '/auth/session', body());
      ctx.signedIn(s);
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) {
        const p = form.querySelector('.form-error') || form.appendChild(h('p', { class: 'form-error', role: 'alert' }));
        p.textContent = err.message;
      }
    }
  };
  view.append(h('section', { class: 'signin card' },
    h('h1', {}, 'Sign in to CodePod'),
    h('form', { id: 'signin-password', onsubmit: submit(() => ({ email: /** @type {HTMLInputElement} */ (email).value, password: /** @type {HTMLInputElement} */ (password).value })) },
      field('Email', email), field('Password', password),
      h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    h('details', {},
      h('summary', {}, 'Sign in with an API key instead'),
      h('form', { id: 'signin', onsubmit: submit(() => ({ api_key: /** @type {HTMLInputElement} */ (key).value.trim() })) },
        field('API key', key, 'The admin\'s key is printed by codepod up and kept in <data-dir>/admin-api-key. The session gets a key of its own.'),
        h('button', { type: 'submit' }, 'Sign in with key')))));
  email.focus();
  void run;
}
