// A small client for CodePod's REST API: the key from sessionStorage as a
// bearer token, JSON in and out, problem documents thrown as Errors whose
// message is the problem's detail.

const KEY = 'codepod.apiKey';

export const getKey = () => sessionStorage.getItem(KEY) || '';
export const setKey = (k) => sessionStorage.setItem(KEY, k);
export const clearKey = () => sessionStorage.removeItem(KEY);

export async function call(method, path, body, key = getKey()) {
  const opts = { method, headers: { Authorization: 'Bearer ' + key } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch('/api/v1' + path, opts);
  } catch (e) {
    throw new Error('cannot reach the server: ' + e.message);
  }
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error((data && (data.detail || data.title)) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    throw err;
  }
  return data;
}
