import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("src/generated/openapi.ts matches openapi.yaml", () => {
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "scripts", "check-generated.mjs");
  execFileSync(process.execPath, [script], { stdio: "inherit" });
});
