// Fails when src/generated/openapi.ts differs from what the pinned
// openapi-typescript writes from the committed openapi.yaml. Fix it with
// `npm run generate`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "codepod-ts-gen-"));
try {
  const out = join(dir, "openapi.ts");
  execFileSync(join(root, "node_modules", ".bin", "openapi-typescript"), [join(root, "..", "..", "openapi.yaml"), "--output", out], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const want = readFileSync(out, "utf8");
  const got = readFileSync(join(root, "src", "generated", "openapi.ts"), "utf8");
  if (got !== want) {
    console.error("sdk/typescript/src/generated/openapi.ts is out of date with openapi.yaml: run `npm run generate` in sdk/typescript");
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
