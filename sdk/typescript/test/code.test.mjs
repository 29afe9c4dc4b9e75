import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NotFoundError, Sandbox } from "@codepod/sdk";
import { client, skip as noServer } from "./helpers.mjs";

// Code contexts run on codepod/base (python3, node, bash): CI sets
// CODEPOD_TEST_BASE_IMAGE=1 and the Go harness builds the image.
const skip = noServer || (process.env.CODEPOD_TEST_BASE_IMAGE ? false : "set CODEPOD_TEST_BASE_IMAGE=1 to run code contexts on codepod/base");

let sb;
before(async () => {
  if (!skip) sb = await Sandbox.create({ client: client(), image: "codepod/base:latest", memory: "512m" });
});
after(async () => {
  await sb?.close();
});

const text = (r) => r.results.at(-1)?.["text/plain"];

test("python state, traceback and html", { skip }, async () => {
  await sb.runCode("x = 41");
  assert.equal(text(await sb.runCode("x + 1")), "42");
  const r = await sb.runCode("raise RuntimeError('boom')");
  assert.deepEqual([r.error?.name, r.error?.value], ["RuntimeError", "boom"]);
  assert.ok(r.error.traceback.length > 0);
  const h = await sb.runCode("class H:\n    def _repr_html_(self): return '<b>b</b>'\nH()");
  assert.equal(h.results.at(-1)["text/html"], "<b>b</b>");
});

test("an interrupted loop leaves the context", { skip }, async () => {
  await sb.runCode("y = 'still here'");
  const r = await sb.runCode("while True: pass", { timeoutMs: 1000 });
  assert.equal(r.interrupted, true);
  assert.equal(r.error?.name, "KeyboardInterrupt");
  assert.equal(text(await sb.runCode("y")), "'still here'");
});

test("javascript context: create, list, restart, delete", { skip }, async () => {
  const ctx = await sb.createCodeContext("javascript");
  await sb.runCode("let n = 41", { context: ctx });
  assert.equal(text(await sb.runCode("n + 1", { context: ctx })), "42");
  assert.ok((await sb.listCodeContexts()).some((c) => c.id === ctx.id));
  await sb.restartCodeContext(ctx);
  assert.equal(text(await sb.runCode("typeof n", { context: ctx })), "'undefined'");
  await sb.deleteCodeContext(ctx);
  await assert.rejects(sb.runCode("1", { context: ctx.id }), NotFoundError);
});

test("bash keeps variables and cwd", { skip }, async () => {
  await sb.runCode("B=7; cd /tmp", { language: "bash" });
  const r = await sb.runCode("echo $B $PWD", { language: "bash" });
  assert.equal(r.stdout, "7 /tmp\n");
});
