// CodePod's JavaScript kernel driver (see docs/code.md). The agent starts
// it with requests on fd 3 and messages to the agent on fd 4, one JSON
// object a line; fds 1 and 2 are the cell's stdout and stderr. Cells run
// in one vm context, so top-level declarations persist; SIGINT interrupts
// a running cell (breakOnSigint) and leaves the context as it was.
'use strict';
const fs = require('fs');
const vm = require('vm');
const util = require('util');

process.on('SIGINT', () => {}); // between cells: ignore

function send(msg) { fs.writeSync(4, JSON.stringify(msg) + '\n'); }

function bundle(v) {
  const data = { 'text/plain': util.inspect(v) };
  if (v && typeof v === 'object') {
    if (typeof v._repr_html_ === 'function') data['text/html'] = String(v._repr_html_());
    if (typeof v._repr_json_ === 'function') data['application/json'] = JSON.stringify(v._repr_json_());
  }
  return data;
}

const sandbox = {
  require, process, Buffer, console,
  setTimeout, setInterval, clearTimeout, clearInterval, setImmediate, clearImmediate,
  URL, URLSearchParams, TextEncoder, TextDecoder, fetch: globalThis.fetch,
  display: (...vs) => vs.forEach((v) => send({ msg_type: 'display_data', data: bundle(v) })),
};
const context = vm.createContext(sandbox);

function errorMsg(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'stack' in e)) {
    return { msg_type: 'error', ename: String(e.name), evalue: String(e.message),
      traceback: String(e.stack || '').split('\n') };
  }
  return { msg_type: 'error', ename: 'Error', evalue: util.inspect(e), traceback: [] };
}

async function cell(req) {
  let status = 'ok';
  try {
    let v = vm.runInContext(req.code || '', context, { filename: '<cell>', breakOnSigint: true });
    if (v && typeof v.then === 'function') v = await v;
    if (v !== undefined) send({ msg_type: 'execute_result', data: bundle(v) });
  } catch (e) {
    status = 'error';
    send(errorMsg(e));
  }
  send({ msg_type: 'execute_reply', status });
}

let buf = '';
let chain = Promise.resolve();
const input = fs.createReadStream(null, { fd: 3, encoding: 'utf8' });
input.on('data', (chunk) => {
  buf += chunk;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const req = JSON.parse(line);
    chain = chain.then(() => cell(req));
  }
});
input.on('end', () => process.exit(0));
