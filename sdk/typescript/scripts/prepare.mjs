// npm runs `prepare` when this package is installed from its folder
// (`npm install ./sdk/typescript`, also through a symlink), packed or
// published: it builds dist/ with tsc. In a fresh clone the package has no
// node_modules of its own yet, so it first installs them from
// package-lock.json (npm ci, with the dev dependencies that hold tsc): a
// linked package resolves its imports (ws, openapi-fetch) from there.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const needed = ["typescript", "@types/node", "ws", "openapi-fetch"];

if (!needed.every((name) => existsSync(join(root, "node_modules", name, "package.json")))) {
  // The outer npm's settings (a global or production install) must not
  // shape this package's own build environment.
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^npm_config_(global|prefix|location|omit|include|only|production|install_links|dry_run)$/i.test(k)) delete env[k];
  }
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ["npm"];
  execFileSync(npm[0], [...npm.slice(1), "ci", "--ignore-scripts", "--include=dev", "--no-audit", "--no-fund"], {
    cwd: root,
    env,
    stdio: "inherit",
  });
}
execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
