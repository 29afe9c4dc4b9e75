// @ts-check
// A small client for CodePod's REST API as the web UI uses it: the session
// cookie (HttpOnly, set by POST /auth/session) authenticates, and every
// request that changes something carries the session's CSRF token. Problem
// documents (RFC 9457) are thrown as ApiError.

/** @typedef {import('../types').components['schemas']} S */
/** @typedef {S['Sandbox']} Sandbox */
/** @typedef {S['Session']} Session */
/** @typedef {S['ErrorModel']} Problem */

let csrf = '';

/** @typedef {S['Workspace']} Workspace */
/**
 * The workspace the UI acts in (docs/workspaces.md): sent as the
 * Codepod-Workspace header on every fetch and as ?workspace= on every
 * WebSocket and EventSource URL (browsers cannot set their headers).
 * null: the personal workspace.
 * @type {Workspace|null}
 */
let workspace = null;

/** @param {Workspace|null} w */
export const setWorkspace = (w) => { workspace = w; };
/** @returns {Workspace|null} the workspace the UI acts in */
export const currentWorkspace = () => workspace;
/** @returns {boolean} whether the caller may change things here (not a viewer) */
export const canWrite = () => !workspace || workspace.role !== 'viewer';

/** @returns {Record<string,string>} the headers naming the workspace */
export const wsHeaders = () => (workspace && !workspace.personal ? { 'Codepod-Workspace': workspace.id } : {});

/**
 * inWorkspace adds ?workspace= to a URL the browser opens by itself
 * (WebSocket, EventSource, a download link).
 * @param {string} url @returns {string}
 */
export function inWorkspace(url) {
  if (!workspace || workspace.personal) return url;
  return url + (url.includes('?') ? '&' : '?') + 'workspace=' + encodeURIComponent(workspace.id);
}

/** @param {string} t */
export const setCSRF = (t) => { csrf = t; };

/** An API error: the problem document's detail, its status and errors[]. */
export class ApiError extends Error {
  /** @param {string} msg @param {number} status @param {Problem|null} problem */
  constructor(msg, status, problem) {
    super(msg);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * call sends method path (under /api/v1) with body as JSON (or as is when
 * it is a Blob) and returns the decoded answer.
 * @param {string} method @param {string} path @param {any} [body]
 * @returns {Promise<any>}
 */
export async function call(method, path, body) {
  /** @type {RequestInit & {headers: Record<string,string>}} */
  const opts = { method, headers: wsHeaders(), credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = csrf;
  if (body instanceof Blob) {
    opts.headers['Content-Type'] = 'application/octet-stream';
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new ApiError('cannot reach the server: ' + (e instanceof Error ? e.message : e), 0, null);
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) {
    const p = data && typeof data === 'object' ? data : null;
    throw new ApiError((p && (p.detail || p.title)) || `${resp.status} ${resp.statusText}`, resp.status, p);
  }
  return data;
}

/** @param {string} path @returns {Promise<string>} a file's text */
export async function getText(path) {
  const resp = await fetch('/api/v1' + path, { credentials: 'same-origin', headers: wsHeaders() });
  if (!resp.ok) {
    let p = null;
    try { p = await resp.json(); } catch { /* not JSON */ }
    throw new ApiError((p && p.detail) || `${resp.status}`, resp.status, p);
  }
  return resp.text();
}

/** @param {string} id */
export const sbPath = (id) => '/sandboxes/' + encodeURIComponent(id);
