import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { skip } from "./helpers.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

test("the README's quickstart is examples/quickstart.ts", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = readme.match(/```ts\n([\s\S]*?)```/);
  assert.ok(block, "README.md has no ```ts block");
  assert.equal(block[1], readFileSync(join(root, "examples", "quickstart.ts"), "utf8"));
});

test("the quickstart runs", { skip }, () => {
  const out = execFileSync(process.execPath, [join(root, "dist-examples", "quickstart.js")], { encoding: "utf8", timeout: 60_000 });
  assert.match(out, /^hello from [a-z0-9-]+ - exit code 0\nhi there\n\ntimed out: true\n$/);
});
