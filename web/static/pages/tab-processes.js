// @ts-check
// Processes: the sandbox's background processes (the agent owns them: they
// outlive the page and a server restart). Start one (a shell command, a
// working directory, environment), follow its output live over the
// stream-process WebSocket (which also carries stdin), kill it.
import { call, sbPath, inWorkspace, canWrite } from '../api.js';
import { h, run, ago, table, field, parsePairs, fieldErrors, clearFieldErrors, showError } from '../ui.js';

const KEEP = 256 << 10; // characters of output kept in the page
const RETRIES = 5;

/** @typedef {import('../api.js').S['Process']} Process */

/** @param {HTMLElement} panel @param {any} sb @param {any} ctx */
export function render(panel, sb, ctx) {
  const base = sbPath(sb.id) + '/processes';
  const shell = h('input', { id: 'proc-shell', name: 'shell', required: true, placeholder: 'e.g. python3 -m http.server 8000', autocomplete: 'off', spellcheck: 'false' });
  const cwd = h('input', { id: 'proc-cwd', name: 'cwd', placeholder: 'the home directory', autocomplete: 'off' });
  const env = h('textarea', { id: 'proc-env', name: 'env', rows: 2, placeholder: 'PORT=8000' });
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'card', id: 'proc-form' }, h('h2', {}, 'Start a process'),
    field('Command', shell, 'Run by sh -c in the background; it keeps running when you leave the page.'),
    h('div', { class: 'grid' }, field('Directory', cwd), field('Environment', env, 'One KEY=value per line.')),
    h('button', { type: 'submit', class: 'primary' }, 'Start')));
  const list = h('div', { id: 'proc-list' });
  const viewer = h('div', { id: 'proc-viewer' });
  const note = h('p', { class: 'muted', id: 'proc-note' });
  /** @type {Stream|null} */
  let stream = null;
  let seq = 0;

  const load = () => run(async () => {
    const mine = ++seq;
    if (sb.status !== 'running') {
      note.textContent = `The sandbox is ${sb.status}; processes are listed while it runs.`;
      list.replaceChildren();
      return;
    }
    const res = await call('GET', base);
    if (mine !== seq) return;
    note.textContent = '';
    /** @type {Process[]} */
    const items = res.items || [];
    list.replaceChildren(items.length
      ? table('Background processes', ['PID', 'Command', 'Status', 'Started', 'Actions'], items.slice().reverse().map(row), 'processes')
      : h('p', { class: 'muted', id: 'proc-empty' }, 'No background processes yet.'));
  });
  const row = (/** @type {Process} */ p) => h('tr', { 'data-pid': String(p.pid), 'data-status': p.status },
    h('th', { scope: 'row', class: 'mono' }, String(p.pid)),
    h('td', { class: 'mono wrap' }, cmdline(p)),
    h('td', { class: 'proc-status' }, statusText(p)),
    h('td', { title: p.started_at }, ago(p.started_at)),
    h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'small output', 'aria-label': `Output of process ${p.pid}`, onclick: () => open(p) }, 'Output'),
      h('button', { type: 'button', class: 'small danger kill', disabled: p.status !== 'running', 'aria-label': `Kill process ${p.pid}`, onclick: () => run(async () => {
        if (!confirm(`Kill process ${p.pid} (${cmdline(p)})? It gets SIGKILL, with its children.`)) return;
        await call('DELETE', `${base}/${p.pid}`);
        await load();
      }) }, 'Kill')));

  /** open shows process p's output, followed live. @param {Process} p */
  const open = (p) => {
    if (stream) stream.close();
    stream = new Stream(sb.id, p, load);
    viewer.replaceChildren(stream.el);
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    /** @type {Record<string, any>} */
    const body = { shell: /** @type {HTMLInputElement} */ (shell).value };
    const dir = /** @type {HTMLInputElement} */ (cwd).value.trim();
    if (dir) body.cwd = dir;
    const vars = parsePairs(/** @type {HTMLTextAreaElement} */ (env).value);
    if (vars) body.env = vars;
    try {
      /** @type {Process} */
      const p = await call('POST', base, body);
      await load();
      open(p);
    } catch (e) {
      const err = /** @type {any} */ (e);
      if (!fieldErrors(form, err.problem, err.message)) showError(err.message);
    }
  });
  panel.append(canWrite() ? form : h('p', { class: 'muted', id: 'proc-viewer-note' }, 'Your role in this workspace is viewer: it cannot start processes.'), h('section', { class: 'card' },
    h('div', { class: 'term-bar' }, h('h2', {}, 'Processes'), h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'small', id: 'proc-refresh', onclick: () => load() }, 'Refresh')),
    note, list), viewer);
  ctx.onChange((/** @type {any} */ changed) => {
    const was = sb.status;
    sb = changed;
    if (was !== sb.status) load();
  });
  load();
  return () => { if (stream) stream.close(); };
}

/** @param {Process} p */
const cmdline = (p) => (p.command.length === 3 && p.command[0] === 'sh' && p.command[1] === '-c' ? p.command[2] : p.command.join(' '));

/** @param {Process} p */
function statusText(p) {
  if (p.status === 'running') return 'running';
  return `exited ${p.exit_code ?? '?'}` + (p.signal ? ` (${p.signal})` : '');
}

/**
 * Stream follows one process's output on its WebSocket, from the oldest
 * kept byte, and sends what is typed to its stdin. A dropped connection
 * is resumed from the offsets read so far.
 */
class Stream {
  /** @param {string} sandboxID @param {Process} p @param {() => any} onExit */
  constructor(sandboxID, p, onExit) {
    this.sandboxID = sandboxID;
    this.p = p;
    this.onExit = onExit;
    this.offsets = { stdout: 0, stderr: 0 };
    this.decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    this.closed = false;
    this.retries = 0;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.status = h('span', { class: 'muted', id: 'proc-out-status', role: 'status' });
    this.pre = h('pre', { class: 'file-text log-text', id: 'proc-out-text', tabindex: '0', 'aria-label': `Output of process ${p.pid}` });
    this.input = /** @type {HTMLInputElement} */ (h('input', { id: 'proc-stdin', name: 'stdin', autocomplete: 'off', spellcheck: 'false', placeholder: 'a line for its stdin' }));
    const stdin = h('form', { class: 'filters', id: 'proc-stdin-form', onsubmit: (/** @type {Event} */ ev) => {
      ev.preventDefault();
      this.send({ type: 'stdin', data: b64(this.input.value + '\n') });
      this.input.value = '';
    } }, field('Stdin', this.input), h('button', { type: 'submit' }, 'Send'),
    h('button', { type: 'button', id: 'proc-stdin-close', onclick: () => this.send({ type: 'stdin_close' }) }, 'Close stdin'));
    this.el = h('section', { class: 'card', id: 'proc-output', 'data-pid': String(p.pid) },
      h('div', { class: 'term-bar' }, h('h2', {}, `Output of ${p.pid}: `, h('code', {}, cmdline(p))), h('span', { class: 'spacer' }), this.status,
        h('button', { type: 'button', class: 'small', onclick: () => { this.close(); this.el.remove(); } }, 'Close')),
      this.pre, p.stdin_open || p.status === 'running' ? stdin : null);
    this.connect();
  }

  /** @param {string} state @param {string} msg */
  say(state, msg) { this.status.dataset.state = state; this.status.textContent = msg; }

  connect() {
    if (this.closed) return;
    this.say('connecting', 'Connecting…');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ stdout_offset: String(this.offsets.stdout), stderr_offset: String(this.offsets.stderr) });
    const ws = new WebSocket(inWorkspace(`${proto}//${location.host}/api/v1/sandboxes/${encodeURIComponent(this.sandboxID)}/processes/${this.p.pid}/stream?${q}`));
    this.ws = ws;
    let ended = false;
    ws.onopen = () => { this.retries = 0; this.say('following', 'Following its output.'); };
    ws.onmessage = (ev) => {
      /** @type {any} */
      let m;
      try { m = JSON.parse(ev.data); } catch { return; }
      if (m.type === 'stdout' || m.type === 'stderr') {
        const s = /** @type {'stdout'|'stderr'} */ (m.type);
        const bytes = unb64(m.data || '');
        if (m.dropped) this.append(s, `[${m.dropped} bytes dropped: the agent keeps the last 1 MiB]\n`);
        this.offsets[s] = (m.offset || 0) + bytes.length;
        this.append(s, this.decoders[s].decode(bytes, { stream: true }));
      } else if (m.type === 'exit') {
        ended = true;
        const p = m.process || {};
        this.say('exited', `Exited ${p.exit_code ?? '?'}${p.signal ? ' (' + p.signal + ')' : ''}.`);
        this.onExit();
      } else if (m.type === 'error') {
        ended = true;
        this.say('error', `The stream failed: ${m.detail || m.status}.`);
      }
    };
    ws.onclose = () => {
      if (this.closed || ended) return;
      if (this.retries++ < RETRIES) {
        this.say('retrying', 'The connection dropped; reconnecting…');
        setTimeout(() => this.connect(), 500 * this.retries);
      } else {
        this.say('error', 'The connection dropped. Open the output again to retry.');
      }
    };
  }

  /** @param {'stdout'|'stderr'} s @param {string} text */
  append(s, text) {
    if (!text) return;
    const atEnd = this.pre.scrollHeight - this.pre.scrollTop - this.pre.clientHeight < 8;
    this.pre.append(s === 'stderr' ? h('span', { class: 'stderr' }, text) : text);
    while (this.pre.textContent.length > KEEP && this.pre.firstChild) this.pre.firstChild.remove();
    if (atEnd) this.pre.scrollTop = this.pre.scrollHeight;
  }

  /** @param {any} msg */
  send(msg) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      showError('The process\'s stream is not connected; wait for it to reconnect.');
      return;
    }
    this.ws.send(JSON.stringify(msg));
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

/** @param {string} text */
function b64(text) {
  let s = '';
  new TextEncoder().encode(text).forEach((c) => { s += String.fromCharCode(c); });
  return btoa(s);
}

/** @param {string} data */
function unb64(data) {
  const s = atob(data);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
