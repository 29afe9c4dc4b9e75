import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CodePodError, NotFoundError, Sandbox } from "@codepod/sdk";
import { TINY, client, skip } from "./helpers.mjs";

let sb;
before(async () => {
  if (!skip) sb = await Sandbox.create({ client: client(), image: TINY, memory: "64m" });
});
after(async () => {
  await sb?.close();
});

test("echo", { skip }, async () => {
  const r = await sb.exec(["echo", "hello", "world"]);
  assert.deepEqual([r.stdout, r.stderr, r.exitCode, r.timedOut], ["hello world\n", "", 0, false]);
});

test("env, cwd, stdin and exit code", { skip }, async () => {
  const r = await sb.exec('echo "$A" "$(pwd)"; cat; echo oops >&2; exit 7', { env: { A: "x y" }, cwd: "/tmp", stdin: "from stdin\n" });
  assert.deepEqual([r.stdout, r.stderr, r.exitCode], ["x y /tmp\nfrom stdin\n", "oops\n", 7]);
});

test("binary output", { skip }, async () => {
  const r = await sb.exec("printf '\\000\\377\\376ok'");
  assert.deepEqual([...r.stdoutBytes], [0, 0xff, 0xfe, 0x6f, 0x6b]);
});

test("timeout fires", { skip }, async () => {
  const start = Date.now();
  const r = await sb.exec("echo started; sleep 30", { timeoutMs: 1000 });
  assert.deepEqual([r.timedOut, r.signal, r.exitCode, r.stdout], [true, "KILL", 137, "started\n"]);
  assert.ok(Date.now() - start < 10_000);
});

test("truncated output", { skip }, async () => {
  const r = await sb.exec("yes | head -c 5000", { maxOutputBytes: 100 });
  assert.equal(r.stdoutBytes.length, 100);
  assert.equal(r.stdoutTruncated, true);
});

test("stream: iterate output, stdin, exit", { skip }, async () => {
  const s = await sb.execStream("echo out; echo err >&2; tr a-z A-Z; exit 4", { stdin: "shout\n" });
  const out = [];
  const err = [];
  for await (const c of s) (c.stream === "stdout" ? out : err).push(Buffer.from(c.data));
  assert.equal(Buffer.concat(out).toString(), "out\nSHOUT\n");
  assert.equal(Buffer.concat(err).toString(), "err\n");
  assert.equal(s.exitStatus.exitCode, 4);
});

test("stream: callbacks and piped stdin", { skip }, async () => {
  const s = await sb.execStream(["cat"], { stdin: "pipe" });
  s.writeStdin("one\n");
  s.writeStdin(new TextEncoder().encode("two\n"));
  s.closeStdin();
  const got = [];
  const st = await s.wait({ onStdout: (d) => got.push(Buffer.from(d)) });
  assert.equal(Buffer.concat(got).toString(), "one\ntwo\n");
  assert.equal(st.exitCode, 0);
});

test("stream: first output before the end, then the timeout", { skip }, async () => {
  const s = await sb.execStream("echo first; sleep 30", { timeoutMs: 2000 });
  const it = s[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(Buffer.from(first.value.data).toString(), "first\n");
  const st = await s.wait();
  assert.deepEqual([st.timedOut, st.exitCode], [true, 137]);
});

test("stream: wait() after for await returns the exit status at once", { skip }, async () => {
  // Used to wait forever: the iterator had consumed the end, so Node exited
  // with code 13 (unsettled top-level await) and dropped the rest.
  const s = await sb.execStream("echo one; echo two; exit 3");
  const out = [];
  for await (const c of s) out.push(Buffer.from(c.data));
  assert.equal(Buffer.concat(out).toString(), "one\ntwo\n");
  const st = await s.wait();
  assert.equal(st.exitCode, 3);
  for await (const c of s) assert.fail(`output after the end: ${c.data}`);
});

test("stream: break out of for await, then wait() gets the rest", { skip }, async () => {
  const s = await sb.execStream("echo first; read x; echo rest; echo err >&2", { stdin: "pipe" });
  let first = "";
  for await (const c of s) {
    first = Buffer.from(c.data).toString();
    break;
  }
  assert.equal(first, "first\n");
  s.writeStdin("go\n");
  s.closeStdin();
  const out = [];
  const err = [];
  const st = await s.wait({ onStdout: (d) => out.push(Buffer.from(d)), onStderr: (d) => err.push(Buffer.from(d)) });
  assert.deepEqual([Buffer.concat(out).toString(), Buffer.concat(err).toString(), st.exitCode], ["rest\n", "err\n", 0]);
});

test("exec on a missing sandbox is NotFoundError", { skip }, async () => {
  const ghost = new Sandbox(sb.client, { ...sb.info, id: "sb_nope" });
  await assert.rejects(ghost.exec("true"), NotFoundError);
  const err = await ghost.execStream("true").catch((e) => e);
  assert.ok(err instanceof NotFoundError, `got ${err}`);
  assert.ok(err instanceof CodePodError);
});
