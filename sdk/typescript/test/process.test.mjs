import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NotFoundError, Sandbox } from "@codepod/sdk";
import { TINY, client, skip } from "./helpers.mjs";

let sb;
before(async () => {
  if (!skip) sb = await Sandbox.create({ client: client(), image: TINY, memory: "64m" });
});
after(async () => {
  await sb?.close();
});

const text = (chunks) => Buffer.concat(chunks).toString();

test("start, list, reattach from a second client, stdin, wait", { skip }, async () => {
  const out = [];
  const err = [];
  const h = await sb.process.start('echo start; echo warn >&2; while read l; do echo "got $l"; done', {
    onStdout: (d) => out.push(d),
    onStderr: (d) => err.push(d),
  });
  assert.equal(h.info.status, "running");
  assert.ok((await sb.process.list()).some((p) => p.pid === h.pid));
  await h.sendStdin("a\n");

  const sb2 = await Sandbox.connect(sb.id, { client: client() });
  const out2 = [];
  const h2 = await sb2.process.connect(h.pid, { onStdout: (d) => out2.push(d) });
  await h2.sendStdin(new TextEncoder().encode("b\n"));
  await h2.closeStdin();
  const info = await h.wait();
  await h2.wait();
  assert.deepEqual([info.status, info.exit_code], ["exited", 0]);
  assert.equal(text(out), "start\ngot a\ngot b\n");
  assert.equal(text(out2), "start\ngot a\ngot b\n");
  assert.equal(text(err), "warn\n");
  const o = await h2.output("stdout", 6);
  assert.deepEqual([Buffer.from(o.data).toString(), o.eof, o.dropped], ["got a\ngot b\n", true, 0]);
});

test("signal and kill", { skip }, async () => {
  const h = await sb.process.start(["sleep", "1000"]);
  await h.signal("STOP");
  const info = await h.kill();
  assert.deepEqual([info.status, info.signal, info.exit_code], ["exited", "KILL", 137]);
});

test("unknown pid", { skip }, async () => {
  await assert.rejects(sb.process.connect(999999), (e) => e instanceof NotFoundError && e.message.includes("999999"));
});
