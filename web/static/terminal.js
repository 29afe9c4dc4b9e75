// The browser terminal: xterm.js on the sandbox's /pty WebSocket. Binary
// frames carry the terminal's bytes both ways; text frames are JSON control
// (we send resize, the server sends exit).
import { Terminal } from './vendor/xterm.mjs';
import { FitAddon } from './vendor/addon-fit.mjs';

const enc = new TextEncoder();

export class TerminalSession {
  constructor(el, sandboxID, key, onStatus) {
    this.term = new Terminal({ cursorBlink: true, fontSize: 14, convertEol: false });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(el);
    this.fit.fit();
    this.onStatus = onStatus;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ cols: this.term.cols, rows: this.term.rows, access_token: key });
    this.ws = new WebSocket(`${proto}//${location.host}/api/v1/sandboxes/${encodeURIComponent(sandboxID)}/pty?${q}`);
    this.ws.binaryType = 'arraybuffer';
    this.wire();
  }

  wire() {
    const { ws, term } = this;
    ws.onopen = () => { this.onStatus('connected'); term.focus(); };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') { term.write(new Uint8Array(ev.data)); return; }
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'exit') {
        term.write(`\r\n[exited with code ${msg.exit_code}]\r\n`);
        this.onStatus(`exited (${msg.exit_code})`);
      }
    };
    ws.onclose = (ev) => {
      if (ev.code !== 1000) this.onStatus(`disconnected (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`);
      else this.onStatus('closed');
    };
    this.subs = [
      term.onData((d) => this.send(enc.encode(d))),
      term.onBinary((d) => this.send(Uint8Array.from(d, (c) => c.charCodeAt(0)))),
      term.onResize(({ cols, rows }) => this.send(JSON.stringify({ type: 'resize', cols, rows }))),
    ];
    this.onWindowResize = () => this.fit.fit();
    window.addEventListener('resize', this.onWindowResize);
  }

  send(data) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  close() {
    window.removeEventListener('resize', this.onWindowResize);
    this.subs.forEach((s) => s.dispose());
    this.ws.onclose = null;
    this.ws.close(1000);
    this.term.dispose();
  }
}
