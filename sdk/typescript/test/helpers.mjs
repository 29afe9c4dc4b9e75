// What the tests share: a client of the server named by the environment
// (the Go harness in sdk/sdk_test.go starts one) and the tiny image.
import { Client, Sandbox } from "@codepod/sdk";

export const TINY = "codepod/tiny:latest";

/** false when a server is configured, else the reason to skip. */
export const skip =
  process.env.CODEPOD_SERVER_URL && process.env.CODEPOD_API_KEY
    ? false
    : "CODEPOD_SERVER_URL and CODEPOD_API_KEY are not set (go test ./sdk runs these tests)";

export function client() {
  return new Client();
}

/** Waits until the sandbox is no longer listed. */
export async function waitGone(c, id, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const list = await Sandbox.list({ client: c });
    if (!list.some((s) => s.id === id)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`sandbox ${id} is still listed ${timeoutMs}ms after delete`);
}
