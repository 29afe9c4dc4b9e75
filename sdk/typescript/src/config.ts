import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The CLI's config file, which `codepod config set` writes:
 * `$XDG_CONFIG_HOME/codepod/config.json`, else `~/.config/codepod/config.json`.
 */
export function configPath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "codepod", "config.json");
}

/**
 * The settings the CLI stored (`SERVER_URL`, `API_KEY`); empty when there is
 * no file. A file that is not a JSON object is an error naming it.
 */
export function cliConfig(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`read the CodePod CLI's config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`the CodePod CLI's config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error(`the CodePod CLI's config file ${path} is not a JSON object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (typeof v === "string" && v) out[k] = v;
  return out;
}
