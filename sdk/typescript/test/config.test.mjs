// The client falls back to the CLI's config file (what `codepod config set`
// writes) after the environment, as gh and kubectl do.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, test } from "node:test";
import { Client, UnauthorizedError, configPath } from "@codepod/sdk";
import { skip } from "./helpers.mjs";

const url = process.env.CODEPOD_SERVER_URL;
const key = process.env.CODEPOD_API_KEY;
const saved = { ...process.env };
const dir = mkdtempSync(join(tmpdir(), "codepod-sdk-config-"));

function writeConfig(settings, base = join(dir, "xdg")) {
  const path = join(base, "codepod", "config.json");
  mkdirSync(join(base, "codepod"), { recursive: true });
  writeFileSync(path, typeof settings === "string" ? settings : JSON.stringify(settings));
  return path;
}

/** The environment without CODEPOD_*, with XDG_CONFIG_HOME at our directory, plus extra. */
function setEnv(extra = {}) {
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, saved, { XDG_CONFIG_HOME: join(dir, "xdg") });
  delete process.env.CODEPOD_SERVER_URL;
  delete process.env.CODEPOD_API_KEY;
  Object.assign(process.env, extra);
}

async function me(c) {
  return c.call((api, signal) => api.GET("/api/v1/me", { signal }));
}

beforeEach(() => rmSync(join(dir, "xdg"), { recursive: true, force: true }));
after(() => {
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, saved);
  rmSync(dir, { recursive: true, force: true });
});

test("the config file alone configures the client", { skip }, async () => {
  writeConfig({ SERVER_URL: url, API_KEY: key });
  setEnv();
  const c = new Client();
  assert.equal(c.serverUrl, url.replace(/\/+$/, ""));
  assert.ok((await me(c)).id);
});

test("~/.config/codepod/config.json when XDG_CONFIG_HOME is unset", { skip }, async () => {
  const home = join(dir, "home");
  writeConfig({ SERVER_URL: url, API_KEY: key }, join(home, ".config"));
  setEnv({ HOME: home });
  delete process.env.XDG_CONFIG_HOME;
  assert.equal(configPath(), join(home, ".config", "codepod", "config.json"));
  assert.ok((await me(new Client())).id);
});

test("the environment beats the file, setting by setting", { skip }, async () => {
  writeConfig({ SERVER_URL: "http://127.0.0.1:1", API_KEY: "cp_wrong" });
  setEnv({ CODEPOD_SERVER_URL: url, CODEPOD_API_KEY: key });
  assert.ok((await me(new Client())).id);
  // The URL from the environment, the key from the file.
  writeConfig({ SERVER_URL: "http://127.0.0.1:1", API_KEY: key });
  setEnv({ CODEPOD_SERVER_URL: url });
  assert.ok((await me(new Client())).id);
  // A wrong key in the environment wins over a right one in the file.
  writeConfig({ SERVER_URL: url, API_KEY: key });
  setEnv({ CODEPOD_API_KEY: "cp_wrong" });
  await assert.rejects(me(new Client()), UnauthorizedError);
});

test("no key anywhere names the command and the file", () => {
  setEnv();
  assert.throws(() => new Client(), (err) => {
    assert.match(err.message, /codepod config set API_KEY/);
    assert.ok(err.message.includes(join(dir, "xdg", "codepod", "config.json")), err.message);
    return true;
  });
});

test("a broken file is named; explicit options need no file", () => {
  const path = writeConfig("{not json");
  setEnv();
  assert.throws(() => new Client(), (err) => err.message.includes(path));
  assert.equal(new Client({ serverUrl: "http://127.0.0.1:1", apiKey: "k" }).serverUrl, "http://127.0.0.1:1");
});
