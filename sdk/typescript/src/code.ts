import type { Client } from "./client.js";
import type { components } from "./generated/openapi.js";

/** A persistent interpreter in a sandbox (docs/code.md). */
export type CodeContext = components["schemas"]["CodeContext"];
/** What a cell did: stdout, stderr, rich results (MIME type → data), error, executionCount … */
export type CodeRunResult = components["schemas"]["CodeRunResult"];
/** An exception a cell raised. */
export type CodeError = components["schemas"]["CodeError"];
/** A code context's language. */
export type CodeLanguage = "python" | "javascript" | "bash";

/** Options of Sandbox.runCode. */
export interface RunCodeOptions {
  /** python (the default without context), javascript or bash. */
  language?: CodeLanguage;
  /** A context (or its id); default: the sandbox's default context for the language. */
  context?: string | CodeContext;
  /** Interrupt the cell after this many milliseconds (default 60 000); the context keeps its state. */
  timeoutMs?: number;
  /** Most bytes kept of stdout and of stderr (default 1 MiB). */
  maxOutputBytes?: number;
}

function contextId(c: string | CodeContext): string {
  return typeof c === "string" ? c : c.id;
}

export async function runCode(client: Client, id: string, code: string, o: RunCodeOptions): Promise<CodeRunResult> {
  const context = o.context === undefined ? undefined : contextId(o.context);
  const body: components["schemas"]["CodeRunRequest"] = {
    code,
    context,
    language: o.language ?? (context ? undefined : "python"),
    timeout_seconds: o.timeoutMs === undefined ? undefined : Math.max(1, Math.ceil(o.timeoutMs / 1000)),
    max_output_bytes: o.maxOutputBytes,
  };
  const httpTimeout = client.timeoutMs + (o.timeoutMs ?? 60_000) + 5_000;
  return client.call(
    (api, signal) => api.POST("/api/v1/sandboxes/{id}/code/run", { params: { path: { id } }, body, signal }),
    httpTimeout,
  );
}

export function createCodeContext(client: Client, id: string, language: CodeLanguage): Promise<CodeContext> {
  return client.call((api, signal) =>
    api.POST("/api/v1/sandboxes/{id}/code/contexts", { params: { path: { id } }, body: { language }, signal }),
  );
}

export async function listCodeContexts(client: Client, id: string): Promise<CodeContext[]> {
  const r = await client.call((api, signal) => api.GET("/api/v1/sandboxes/{id}/code/contexts", { params: { path: { id } }, signal }));
  return r.contexts ?? [];
}

export function restartCodeContext(client: Client, id: string, c: string | CodeContext): Promise<CodeContext> {
  return client.call((api, signal) =>
    api.POST("/api/v1/sandboxes/{id}/code/contexts/{context_id}/restart", { params: { path: { id, context_id: contextId(c) } }, signal }),
  );
}

export async function deleteCodeContext(client: Client, id: string, c: string | CodeContext): Promise<void> {
  await client.call((api, signal) =>
    api.DELETE("/api/v1/sandboxes/{id}/code/contexts/{context_id}", { params: { path: { id, context_id: contextId(c) } }, signal }),
  );
}
