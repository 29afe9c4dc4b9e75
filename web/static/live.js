// @ts-check
// The live list of sandboxes: one EventSource on GET /api/v1/events (the
// server's feed, woken by the control plane; no polling), shared by the
// pages that show sandboxes. It reconnects by itself after a drop (the
// browser's EventSource retry), and the first events after a reconnect
// bring the list up to date. The feed is the current workspace's
// (?workspace=); switching workspaces reopens it (restart).
import { inWorkspace } from './api.js';

/** @typedef {import('./api.js').Sandbox} Sandbox */
/** @typedef {(list: Map<string, Sandbox>, changed: Sandbox|null, state: string) => void} Listener */

/** @type {EventSource|null} */
let es = null;
let all = false;
/** @type {Map<string, Sandbox>} */
const sandboxes = new Map();
/** @type {Set<Listener>} */
const listeners = new Set();
let state = 'connecting';

function emit(/** @type {Sandbox|null} */ changed) {
  listeners.forEach((l) => l(sandboxes, changed, state));
}

function open() {
  if (es) es.close();
  sandboxes.clear();
  state = 'connecting';
  es = new EventSource(inWorkspace('/api/v1/events' + (all ? '?all=true' : '')));
  es.addEventListener('sandbox', (ev) => {
    const sb = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    sandboxes.set(sb.id, sb);
    if (state === 'live') emit(sb);
  });
  es.addEventListener('deleted', (ev) => {
    const { id } = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    const sb = sandboxes.get(id);
    sandboxes.delete(id);
    if (sb) emit({ ...sb, status: 'deleted' });
  });
  es.addEventListener('ready', () => { state = 'live'; emit(null); });
  es.onerror = () => {
    // The browser reconnects; the snapshot that follows replaces the list.
    if (es && es.readyState === EventSource.CONNECTING) { state = 'reconnecting'; sandboxes.clear(); emit(null); }
    else if (es && es.readyState === EventSource.CLOSED) { state = 'closed'; emit(null); }
  };
}

/**
 * subscribe calls l now and after every change; it returns the
 * unsubscribe function. everyone (admins) widens the feed to all users.
 * @param {Listener} l @param {boolean} [everyone]
 */
export function subscribe(l, everyone = all) {
  if (!es || everyone !== all || es.readyState === EventSource.CLOSED) { all = everyone; open(); }
  listeners.add(l);
  l(sandboxes, null, state);
  return () => { listeners.delete(l); };
}

/** restart reopens the feed, if open, for the workspace now current. */
export function restart() {
  if (es) open();
}

/** stop closes the feed (sign-out). */
export function stop() {
  if (es) es.close();
  es = null;
  sandboxes.clear();
  listeners.clear();
}
