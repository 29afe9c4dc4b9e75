import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Client,
  CodePodError,
  ConnectionError,
  InvalidError,
  NotFoundError,
  Sandbox,
  TimeoutError,
  UnauthorizedError,
} from "@codepod/sdk";
import { TINY, client, skip, waitGone } from "./helpers.mjs";

test("create, connect, list and delete a sandbox", { skip }, async () => {
  const c = client();
  const sb = await Sandbox.create({
    client: c, name: "sdk-ts-life", image: TINY, cpu: 0.5, memory: "64m", disk: "128m", env: { GREETING: "hi" },
    labels: { suite: "sdk-ts" }, ttl: "1h", network: "none",
  });
  try {
    assert.equal(sb.status, "running");
    assert.deepEqual([sb.name, sb.info.memory, sb.info.disk, sb.info.env], ["sdk-ts-life", "64m", "128m", { GREETING: "hi" }]);
    assert.match(sb.info.host_key_fingerprint, /^SHA256:/);
    assert.ok(sb.info.expires_at);

    const again = await Sandbox.connect("sdk-ts-life", { client: c });
    assert.equal(again.id, sb.id);
    const listed = await Sandbox.list({ client: c, labels: { suite: "sdk-ts" }, status: ["running"] });
    assert.deepEqual(listed.map((s) => s.id), [sb.id]);
  } finally {
    await sb.delete();
  }
  await waitGone(c, sb.id);
  const err = await Sandbox.connect(sb.id, { client: c }).catch((e) => e);
  assert.ok(err instanceof NotFoundError, `connect after delete: ${err}`);
  assert.ok(err instanceof CodePodError);
  assert.equal(err.status, 404);
  assert.ok(err.detail);
  await assert.rejects(sb.exec(["echo", "too late"]), NotFoundError);
  await sb.close(); // already gone: no error
});

test("disposing deletes the sandbox (await using)", { skip }, async () => {
  // Node 20 cannot parse `await using` in plain JavaScript; the compiled
  // quickstart uses it. This calls what it calls at the end of a scope.
  const c = client();
  const sb = await Sandbox.create({ client: c, image: TINY, memory: "64m" });
  await sb[Symbol.asyncDispose]();
  await waitGone(c, sb.id);
  await sb[Symbol.asyncDispose](); // twice is fine
});

test("an invalid request carries the problem document", { skip }, async () => {
  const err = await Sandbox.create({ client: client(), image: TINY, memory: "12zb" }).catch((e) => e);
  assert.ok(err instanceof InvalidError, `got ${err}`);
  assert.equal(err.status, 422);
  assert.match(err.detail, /12zb/);
  assert.equal(err.instance, "/api/v1/sandboxes");
  assert.ok(err.requestId);
});

test("a wrong key is unauthorized", { skip }, async () => {
  const bad = new Client({ serverUrl: client().serverUrl, apiKey: "cpk_nope_nope" });
  await assert.rejects(Sandbox.list({ client: bad }), UnauthorizedError);
});

test("a create that cannot run times out and is deleted", { skip }, async () => {
  const c = client();
  const err = await Sandbox.create({ client: c, name: "sdk-ts-unplaceable", image: TINY, runnerLabels: { gpu: "h100" }, timeoutMs: 1000 }).catch((e) => e);
  assert.ok(err instanceof TimeoutError, `got ${err}`);
  await assert.rejects(Sandbox.connect("sdk-ts-unplaceable", { client: c }), NotFoundError);
});

test("an unreachable server is a ConnectionError", async () => {
  const c = new Client({ serverUrl: "http://127.0.0.1:9", apiKey: "cpk_x_y" });
  await assert.rejects(Sandbox.list({ client: c }), ConnectionError);
});

test("a client needs an API key", () => {
  const saved = process.env.CODEPOD_API_KEY;
  delete process.env.CODEPOD_API_KEY;
  try {
    assert.throws(() => new Client({ serverUrl: "http://127.0.0.1:9" }), /CODEPOD_API_KEY/);
  } finally {
    if (saved !== undefined) process.env.CODEPOD_API_KEY = saved;
  }
});

test("the generated client reaches every other operation", { skip }, async () => {
  const c = client();
  const me = await c.call((api, signal) => api.GET("/api/v1/me", { signal }));
  assert.equal(me.email, "admin@localhost");
});
