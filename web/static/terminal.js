// @ts-check
// The browser terminal: xterm.js on the sandbox's /pty WebSocket (the
// session cookie authenticates it; the server checks the Origin). Binary
// frames carry the terminal's bytes both ways; text frames are JSON control
// (we send resize, the server sends exit). A dropped connection is retried
// a few times with a growing delay; reconnect() starts over at once.
import { Terminal } from './vendor/xterm.mjs';
import { FitAddon } from './vendor/addon-fit.mjs';
import { inWorkspace } from './api.js';

const enc = new TextEncoder();
const RETRIES = 5;

export class TerminalSession {
  /**
   * @param {HTMLElement} el @param {string} sandboxID
   * @param {(state: string, detail?: string) => void} onStatus
   */
  constructor(el, sandboxID, onStatus) {
    this.id = sandboxID;
    this.onStatus = onStatus;
    this.closed = false;
    this.retries = 0;
    /** @type {any} */
    this.timer = null;
    this.term = new Terminal({ cursorBlink: true, fontSize: 14, theme: themeFor() });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(el);
    this.fit.fit();
    /** @type {WebSocket|null} */
    this.ws = null;
    this.subs = [
      this.term.onData((/** @type {string} */ d) => this.send(enc.encode(d))),
      this.term.onBinary((/** @type {string} */ d) => this.send(Uint8Array.from(d, (c) => c.charCodeAt(0)))),
      this.term.onResize((/** @type {{cols: number, rows: number}} */ { cols, rows }) => this.send(JSON.stringify({ type: 'resize', cols, rows }))),
    ];
    this.refit = () => { try { this.fit.fit(); } catch { /* hidden */ } };
    window.addEventListener('resize', this.refit);
    this.observer = new ResizeObserver(this.refit);
    this.observer.observe(el);
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); }
    this.onStatus('connecting');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ cols: String(this.term.cols), rows: String(this.term.rows) });
    const ws = new WebSocket(inWorkspace(`${proto}//${location.host}/api/v1/sandboxes/${encodeURIComponent(this.id)}/pty?${q}`));
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    let exited = false;
    ws.onopen = () => { this.retries = 0; this.onStatus('connected'); this.term.focus(); };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') { this.term.write(new Uint8Array(ev.data)); return; }
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'exit') {
        exited = true;
        this.term.write(`\r\n[the shell exited with code ${msg.exit_code}]\r\n`);
        this.onStatus('exited', `The shell exited with code ${msg.exit_code}.`);
      }
    };
    ws.onclose = (ev) => {
      if (this.closed || exited) return;
      const why = ev.reason || (ev.code === 1006 ? 'the connection dropped' : `closed (${ev.code})`);
      this.term.write(`\r\n[disconnected: ${why}]\r\n`);
      if (this.retries < RETRIES) {
        const delay = 500 * 2 ** this.retries++;
        this.onStatus('disconnected', `Disconnected: ${why}. Retrying in ${Math.round(delay / 100) / 10} s (attempt ${this.retries} of ${RETRIES})…`);
        this.timer = setTimeout(() => this.connect(), delay);
      } else {
        this.onStatus('disconnected', `Disconnected: ${why}. The sandbox may have stopped; reconnect when it runs.`);
      }
    };
  }

  /** reconnect starts a new shell now, resetting the retry count. */
  reconnect() {
    this.retries = 0;
    this.connect();
  }

  /** halt ends the connection and its retries, keeping the screen. */
  halt() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); }
  }

  /** @param {string|Uint8Array} data */
  send(data) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  /** @param {string} text */
  paste(text) { this.term.paste(text); }

  selection() { return this.term.getSelection(); }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    window.removeEventListener('resize', this.refit);
    this.observer.disconnect();
    this.subs.forEach((s) => s.dispose());
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000); }
    this.term.dispose();
  }
}

function themeFor() {
  const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
  return dark ? { background: '#0b0f14', foreground: '#d8dee9', cursor: '#7aa2f7' } : { background: '#fbfbfd', foreground: '#1f2328', cursor: '#0b57d0', selectionBackground: '#b6d3ff' };
}
