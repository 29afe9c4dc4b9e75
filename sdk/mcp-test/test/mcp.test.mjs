// CodePod's /mcp endpoint driven by the official MCP TypeScript SDK, as an
// agent would: list the tools, create a sandbox, exec, write then read a
// file, list a directory, delete the sandbox. go test ./sdk -run
// TestMCPTypeScript starts the server and sets the environment.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.env.CODEPOD_SERVER_URL;
const key = process.env.CODEPOD_API_KEY;
const skip = url && key ? false : "CODEPOD_SERVER_URL and CODEPOD_API_KEY are not set (go test ./sdk -run TestMCPTypeScript runs this)";

/** Connects an MCP client with this API key. */
async function connect(apiKey) {
  const client = new Client({ name: "codepod-mcp-test", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL("/mcp", url), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

/** Calls a tool and returns its structured result; a tool error throws its text. */
async function call(client, name, args) {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
  if (r.isError) throw new Error(`${name}: ${r.content.map((c) => c.text).join("\n")}`);
  return r.structuredContent;
}

let client;
let sandbox;
before(async () => {
  if (!skip) client = await connect(key);
});
after(async () => {
  if (sandbox) await call(client, "delete_sandbox", { sandbox: sandbox.id }).catch(() => {});
  await client?.close();
});

test("lists the tools", { skip }, async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  for (const want of ["create_sandbox", "delete_sandbox", "exec", "list_files", "list_sandboxes", "get_preview_url", "read_file", "run_code", "write_file"]) {
    assert.ok(names.includes(want), `${want} missing from ${names}`);
  }
  const exec = tools.find((t) => t.name === "exec");
  assert.ok(exec.inputSchema.properties.command, "exec documents its command argument");
});

test("create, exec, write and read a file, delete", { skip }, async (t) => {
  sandbox = await call(client, "create_sandbox", { image: "codepod/tiny:latest", memory: "64m" });
  assert.equal(sandbox.status, "running");

  await t.test("exec", async () => {
    const r = await call(client, "exec", { sandbox: sandbox.name, command: "echo hello; echo oops >&2; exit 3" });
    assert.deepEqual([r.stdout, r.stderr, r.exit_code], ["hello\n", "oops\n", 3]);
    const argv = await call(client, "exec", { sandbox: sandbox.id, argv: ["echo", "$HOME"] });
    assert.equal(argv.stdout, "$HOME\n");
  });

  await t.test("write then read a file", async () => {
    const w = await call(client, "write_file", { sandbox: sandbox.id, path: "notes/hello.txt", content: "hi there\nünïcode\n" });
    assert.equal(w.size, Buffer.byteLength("hi there\nünïcode\n"));
    const r = await call(client, "read_file", { sandbox: sandbox.id, path: "notes/hello.txt" });
    assert.deepEqual([r.content, r.encoding], ["hi there\nünïcode\n", "utf-8"]);
    await call(client, "write_file", { sandbox: sandbox.id, path: "bin.dat", content: Buffer.from([0, 0xff, 1]).toString("base64"), encoding: "base64" });
    const b = await call(client, "read_file", { sandbox: sandbox.id, path: "bin.dat" });
    assert.deepEqual([b.content, b.encoding], ["AP8B", "base64"]);
    const ls = await call(client, "list_files", { sandbox: sandbox.id, path: "notes" });
    assert.deepEqual(ls.entries.map((e) => [e.name, e.type]), [["hello.txt", "file"]]);
  });

  await t.test("errors are tool results the model can read", async () => {
    const r = await client.callTool({ name: "read_file", arguments: { sandbox: sandbox.id, path: "/nope" } });
    assert.equal(r.isError, true);
    assert.match(r.content[0].text, /404/);
  });

  await t.test("a preview URL to a port", async () => {
    const p = await call(client, "get_preview_url", { sandbox: sandbox.id, port: 8080, ttl: "10m" });
    assert.match(p.url, /\/api\/v1\/sandboxes\/[^/]+\/ports\/8080\//);
  });

  await t.test("listed", async () => {
    const { items } = await call(client, "list_sandboxes", {});
    assert.ok(items.some((s) => s.id === sandbox.id));
  });

  await call(client, "delete_sandbox", { sandbox: sandbox.id });
  const gone = await client.callTool({ name: "exec", arguments: { sandbox: sandbox.id, command: "true" } });
  assert.equal(gone.isError, true, "exec after delete must fail");
  sandbox = undefined;
});

// run_code needs an interpreter: codepod/base (python3, node, bash), which
// the suite builds when CODEPOD_TEST_BASE_IMAGE=1 (CI sets it).
const noBase = process.env.CODEPOD_TEST_BASE_IMAGE === "1" ? false : "CODEPOD_TEST_BASE_IMAGE=1 provides codepod/base (python3)";
test("run code: state kept between calls, a structured error", { skip: skip || noBase }, async () => {
  const sb = await call(client, "create_sandbox", { image: "codepod/base:latest", memory: "256m" });
  try {
    await call(client, "run_code", { sandbox: sb.id, code: "x = 41" });
    const r = await call(client, "run_code", { sandbox: sb.id, code: "x + 1" });
    assert.equal(r.results.at(-1)["text/plain"], "42");
    const e = await call(client, "run_code", { sandbox: sb.name, code: "1/0" });
    assert.equal(e.error.name, "ZeroDivisionError");
    assert.ok(e.error.traceback.length > 0, "a traceback");
    const sh = await call(client, "run_code", { sandbox: sb.id, language: "bash", code: "cd /tmp; echo $PWD" });
    assert.equal(sh.stdout, "/tmp\n");
  } finally {
    await call(client, "delete_sandbox", { sandbox: sb.id });
  }
});
