// @ts-check
// Logs: the sandbox's log, /.codepod/run/main.log (what `codepod sandbox
// logs` prints: the image command's output and the devcontainer lifecycle
// hooks'), followed while the tab is open and the page visible. Each poll
// asks the files API for what was appended since (?offset=); the page keeps
// the last 256 KiB.
import { sbPath, wsHeaders } from '../api.js';
import { h } from '../ui.js';

export const LOG_PATH = '/.codepod/run/main.log';
const KEEP = 256 << 10; // characters kept in the page
const EVERY = 1500; // ms between polls while visible

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const status = h('p', { class: 'muted', id: 'logs-status', 'aria-live': 'polite' });
  const pre = h('pre', { class: 'file-text log-text', id: 'logs-text', tabindex: '0', 'aria-label': 'Sandbox log' });
  panel.append(h('p', { class: 'muted' }, 'The output of the image\'s command and of the devcontainer lifecycle hooks (', h('code', {}, LOG_PATH), '), followed live; the last 256 KiB are kept here. The same as ',
    h('code', {}, `codepod sandbox logs -f ${sb.name}`), '.'), status, pre);
  const base = '/api/v1' + sbPath(sb.id) + '/files?path=' + encodeURIComponent(LOG_PATH);
  let offset = -1; // -1: not started (read the tail first)
  let text = '';
  let decoder = new TextDecoder();
  let timer = 0;
  let stopped = false;
  let busy = false; // one poll at a time
  let running = sb.status === 'running';
  const say = (/** @type {string} */ state, /** @type {string} */ msg) => { status.dataset.state = state; status.textContent = msg; };
  const restart = () => { offset = -1; text = ''; decoder = new TextDecoder(); pre.textContent = ''; };
  const append = (/** @type {ArrayBuffer} */ buf) => {
    if (!buf.byteLength) return;
    const atEnd = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 8;
    text += decoder.decode(buf, { stream: true });
    if (text.length > KEEP) {
      const cut = text.indexOf('\n', text.length - KEEP);
      text = text.slice(cut >= 0 ? cut + 1 : text.length - KEEP);
    }
    pre.textContent = text;
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  // tail finds where to start: the last KEEP bytes of the file.
  const tail = async () => {
    const r = await fetch('/api/v1' + sbPath(sb.id) + '/files/list?path=' + encodeURIComponent(LOG_PATH.replace(/\/[^/]*$/, '')), { credentials: 'same-origin', headers: wsHeaders() });
    if (!r.ok) return r;
    const list = await r.json();
    const f = (list.entries || []).find((/** @type {any} */ e) => e.name === 'main.log' && e.type === 'file');
    offset = f ? Math.max(0, f.size - KEEP) : 0;
    return null;
  };
  const poll = async () => {
    if (!running) {
      say('stopped', `The sandbox is ${sb.status}; its log is read while it runs.`);
      return;
    }
    try {
      let r = offset < 0 ? await tail() : null;
      if (!r) r = await fetch(base + (offset > 0 ? '&offset=' + offset : ''), { credentials: 'same-origin', headers: wsHeaders() });
      if (r.ok) {
        const buf = await r.arrayBuffer();
        offset += buf.byteLength;
        append(buf);
        say('following', text ? 'Following the log.' : 'The log is empty so far; new output appears here.');
      } else if (r.status === 404) {
        say('empty', `No log yet: ${LOG_PATH} does not exist (the image has no command of its own, or it has printed nothing). New output appears here.`);
        offset = 0;
      } else if (r.status === 416) {
        restart(); // the file was started over (a restart of the sandbox)
        say('following', 'The log was started over.');
      } else {
        let p = null;
        try { p = await r.json(); } catch { /* not JSON */ }
        say('error', `Cannot read the log: ${(p && p.detail) || r.status}. Retrying.`);
      }
    } catch (e) {
      say('error', `Cannot reach the server (${e instanceof Error ? e.message : e}). Retrying.`);
    }
  };
  const loop = async () => {
    timer = 0;
    if (stopped || busy) return;
    busy = true;
    try {
      if (document.visibilityState === 'visible') await poll();
    } finally {
      busy = false;
    }
    if (!stopped && running && !timer) timer = window.setTimeout(loop, EVERY);
  };
  const onVisible = () => { if (document.visibilityState === 'visible' && !timer && running && !stopped) loop(); };
  document.addEventListener('visibilitychange', onVisible);
  ctx.onChange((/** @type {any} */ changed) => {
    const was = running;
    sb = changed;
    running = sb.status === 'running';
    if (running && !was) { restart(); if (!timer) loop(); }
    if (!running) say('stopped', `The sandbox is ${sb.status}; its log is read while it runs.`);
  });
  loop();
  return () => { stopped = true; if (timer) clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); };
}
