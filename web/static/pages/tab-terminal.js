// @ts-check
// The terminal tab: xterm.js in the page or full-screen (Esc or the button
// leaves), copy and paste buttons, a status line that says clearly when
// the sandbox stopped or the connection dropped, and a reconnect button.
import { h } from '../ui.js';
import { canWrite } from '../api.js';
import { TerminalSession } from '../terminal.js';

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  if (!canWrite()) {
    panel.append(h('p', { class: 'empty', id: 'terminal-viewer' }, 'Your role in this workspace is viewer: it can list and read, not open a terminal.'));
    return () => {};
  }
  const status = h('span', { id: 'terminal-status', class: 'term-status', role: 'status' });
  const detail = h('span', { id: 'terminal-detail', class: 'muted' });
  const box = h('div', { id: 'terminal', class: 'terminal' });
  const wrap = h('div', { class: 'term-wrap', id: 'term-wrap' });
  /** @type {TerminalSession|null} */
  let t = null;
  const setStatus = (/** @type {string} */ s, /** @type {string} */ d = '') => {
    status.textContent = s;
    status.dataset.state = s;
    if (s === 'connected') status.dataset.connects = String(Number(status.dataset.connects || 0) + 1);
    detail.textContent = d;
    reconnect.hidden = s === 'connected' || s === 'connecting';
  };
  const reconnect = h('button', { type: 'button', id: 'terminal-reconnect', hidden: true, onclick: () => { if (t) t.reconnect(); else start(); } }, 'Reconnect');
  const full = h('button', { type: 'button', id: 'terminal-full', 'aria-pressed': 'false', onclick: () => toggleFull() }, 'Full screen');
  const toggleFull = (/** @type {boolean} */ on = !wrap.classList.contains('fullscreen')) => {
    wrap.classList.toggle('fullscreen', on);
    full.setAttribute('aria-pressed', String(on));
    full.textContent = on ? 'Exit full screen' : 'Full screen';
    if (t) { t.refit(); t.term.focus(); }
  };
  const onKey = (/** @type {KeyboardEvent} */ ev) => { if (ev.key === 'Escape' && ev.shiftKey && wrap.classList.contains('fullscreen')) toggleFull(false); };
  document.addEventListener('keydown', onKey);
  wrap.append(h('div', { class: 'term-bar' }, status, detail, h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'small', id: 'terminal-copy', onclick: () => t && navigator.clipboard.writeText(t.selection()).catch(() => {}) }, 'Copy'),
    h('button', { type: 'button', class: 'small', id: 'terminal-paste', onclick: async () => { try { if (t) t.paste(await navigator.clipboard.readText()); } catch { /* denied */ } } }, 'Paste'),
    reconnect, full), box);
  panel.append(wrap, h('p', { class: 'hint' }, 'Select text to copy it (or Copy); Ctrl+Shift+V or Paste pastes. Shift+Esc leaves full screen.'));
  const start = () => {
    if (t) t.close();
    box.replaceChildren();
    t = new TerminalSession(box, sb.id, setStatus);
  };
  if (sb.status === 'running') start();
  else setStatus('not running', `The sandbox is ${sb.status}; start it to open a terminal.`);
  ctx.onChange((/** @type {any} */ next) => {
    if (next.status !== 'running' && t) {
      t.halt();
      setStatus('stopped', `The sandbox is ${next.status}: the terminal ended. It reconnects when the sandbox runs again.`);
    }
    if (next.status === 'running' && (!t || status.dataset.state !== 'connected')) start();
    sb = next;
  });
  return () => { document.removeEventListener('keydown', onKey); if (t) t.close(); };
}
